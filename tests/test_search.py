"""Search (issue 8, item 5): full text over what I may read, ranked and highlighted; nothing of
a stranger's, no text for a `progress` member, no deleted text. On SQLite and, with
WIDEN_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from tests.support.api import Api, by_link
from tests.support.rows import store_update_rows
from tests.support.server import ServerProcess
from tests.support.sharing import connect
from tests.test_fuzz import SEGFAULT_UPDATES

MARK_START, MARK_END = "\ue000", "\ue001"
# Short enough for the tests to be quick; one test runs with the default instead.
INDEX_DELAY = "0.2"


class People:
    """Signed-in users of one server, made on demand (each costs two password hashes)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self._apis: list[Api] = []

    async def sign_up(self, *names: str) -> list[Api]:
        made = [await Api(self.server.base_url).sign_up(name) for name in names]
        self._apis.extend(made)
        return made

    async def aclose(self) -> None:
        for api in self._apis:
            await api.aclose()


@pytest.fixture
async def people(start_server: Callable[..., ServerProcess]) -> AsyncIterator[People]:
    made = People(start_server(search_index_delay_seconds=INDEX_DELAY))
    try:
        yield made
    finally:
        await made.aclose()


async def add_section(api: Api, document_id: str, title: str) -> str:
    response = await api.http.post(f"/api/documents/{document_id}/sections",
                                   json={"title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def write(server: ServerProcess, api: Api, document_id: str,
                paragraphs: dict[str, str]) -> None:
    """Write one paragraph into each section (by id), as the browser's editor would, and
    wait until the server has it."""
    client = await connect(server, api, document_id)
    try:
        def edit(doc: Any) -> None:
            for section_id, text in paragraphs.items():
                doc.get(f"section:{section_id}", type=XmlFragment).children.append(
                    XmlElement("paragraph", contents=[XmlText(text)]))
        await client.edit(edit)
    finally:
        await client.close()


async def share(owner: Api, member: Api, document_id: str, role: str) -> None:
    invitation = await owner.http.post(f"/api/documents/{document_id}/invitations", json={
        "email": member.user["email"], "role": role, "reason": "review"})
    assert invitation.status_code == 201, invitation.text
    accepted = await member.http.post(f"/api/invitations/{invitation.json()['id']}/accept",
                                      json=by_link(invitation.json()))
    assert accepted.status_code == 200, accepted.text


async def search(api: Api, q: str, limit: int | None = None) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"q": q}
    if limit is not None:
        params["limit"] = limit
    response = await api.http.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()
    return hits


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> float:
    """Seconds until `check` holds (polled), failing after `timeout`."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)
    return time.monotonic() - started


async def finds(api: Api, query: str, count: int) -> list[dict[str, Any]]:
    """The hits, once the search finds `count` documents (the indexer works in the
    background: an edit sent is found a moment later)."""
    hits: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal hits
        hits = await search(api, query)
        return len(hits) == count
    await until(enough)
    return hits


def marked(snippet: str) -> list[str]:
    """The runs a snippet marks as matches."""
    return [part.split(MARK_END, 1)[0] for part in snippet.split(MARK_START)[1:]]


async def test_finds_my_text_and_shared_text_never_a_strangers(people: People) -> None:
    server = people.server
    owner, member, stranger = await people.sign_up("Owner", "Member", "Stranger")
    mine = await owner.create_document("Field notes")
    mine_section = await add_section(owner, mine, "Tuesday")
    shared = await member.create_document("Joint paper")
    shared_section = await add_section(member, shared, "Methods")
    strangers = await stranger.create_document("Private diary")
    strangers_section = await add_section(stranger, strangers, "Secrets")
    await write(server, owner, mine, {mine_section: "We saw a quokkaphant near the river."})
    await write(server, member, shared,
                {shared_section: "The quokkaphant sample was frozen at dawn."})
    await write(server, stranger, strangers,
                {strangers_section: "Nobody knows about my quokkaphant."})
    await share(member, owner, shared, "viewer")

    hits = await finds(owner, "quokkaphant", 2)
    assert {h["document_id"] for h in hits} == {mine, shared}
    by_document = {h["document_id"]: h for h in hits}
    assert by_document[mine]["title"] == "Field notes"
    assert by_document[mine]["section_id"] == mine_section
    assert by_document[mine]["section_title"] == "Tuesday"
    assert by_document[shared]["section_id"] == shared_section
    for hit in hits:
        assert [m.lower() for m in marked(hit["snippet"])] == ["quokkaphant"], hit
    # The passage around the match (how much before it each engine keeps is its own choice).
    assert "\ue000quokkaphant\ue001 near the river" in by_document[mine]["snippet"]
    # The stranger finds its own, and only its own.
    assert [h["document_id"] for h in await finds(stranger, "quokkaphant", 1)] == [strangers]
    assert {h["document_id"] for h in await search(owner, "quokkaphant")} == {mine, shared}


async def test_a_progress_member_finds_titles_never_text(people: People) -> None:
    server = people.server
    owner, manager = await people.sign_up("Owner", "Manager")
    document = await owner.create_document("Budget zanzibarite")
    section = await add_section(owner, document, "Costs gravelock")
    await write(server, owner, document, {section: "Secret figure: marmaladium is over budget."})
    await share(owner, manager, document, "progress")
    # Once the owner finds the text, it is indexed: the manager still must not.
    assert [h["document_id"] for h in await finds(owner, "marmaladium", 1)] == [document]
    assert await search(manager, "marmaladium") == []
    assert await search(manager, "figure budget") == []  # "budget" is in the title too
    [by_title] = await search(manager, "zanzibarite")
    assert by_title["document_id"] == document
    assert marked(by_title["snippet"]) == ["zanzibarite"]
    [by_section] = await search(manager, "gravelock")
    assert by_section["section_id"] == section
    for hit in (by_title, by_section):
        assert "marmaladium" not in hit["snippet"] and "figure" not in hit["snippet"]


async def test_a_section_editor_finds_text_of_every_section(people: People) -> None:
    """A scoped editor writes only its sections but reads the whole document (DESIGN §3,
    `Access.can_read_text`), so it finds text anywhere in it."""
    server = people.server
    owner, editor = await people.sign_up("Owner", "Editor")
    document = await owner.create_document("Handbook")
    own = await add_section(owner, document, "Yours")
    other = await add_section(owner, document, "Not yours")
    await write(server, owner, document, {own: "pelicanthrope here",
                                          other: "pelicanthrope there"})
    invitation = await owner.http.post(f"/api/documents/{document}/invitations", json={
        "email": editor.user["email"], "role": "editor", "sections": [own],
        "reason": "expertise"})
    assert invitation.status_code == 201, invitation.text
    accepted = await editor.http.post(f"/api/invitations/{invitation.json()['id']}/accept",
                                      json=by_link(invitation.json()))
    assert accepted.status_code == 200, accepted.text
    [hit] = await finds(editor, "pelicanthrope there", 1)
    assert hit["section_id"] == other


async def test_ranking_and_a_document_without_sections(people: People) -> None:
    """A document where the word is in the title and three times in the text ranks above one
    where it is once; a document with no section is found by its title, also after a restart
    (the entries are stored)."""
    server = people.server
    [owner] = await people.sign_up("Owner")
    once = await owner.create_document("Plain notes")
    once_section = await add_section(owner, once, "Notes")
    often = await owner.create_document("On the vorpalite")
    often_section = await add_section(owner, often, "Notes")
    bare = await owner.create_document("Lonely hippogryphon")
    # Written in this order, so the one found once is also the newer one: ranking, not age.
    await write(server, owner, often, {
        often_section: "The vorpalite shines. A vorpalite is rare. Every vorpalite hums."})
    await write(server, owner, once, {
        once_section: "Somewhere, a vorpalite was mentioned in passing among many other words."})
    hits = await finds(owner, "vorpalite", 2)
    assert [h["document_id"] for h in hits] == [often, once]
    assert marked(hits[0]["snippet"]) == ["vorpalite"] * 3
    assert [h["document_id"] for h in await search(owner, "vorpalite", limit=1)] == [often]
    [lonely] = await finds(owner, "hippogryphon", 1)
    assert lonely["document_id"] == bare and lonely["section_id"] is None
    assert lonely["section_title"] is None
    assert marked(lonely["snippet"]) == ["hippogryphon"]
    await server.aterminate()
    server.restart()
    assert [h["document_id"] for h in await search(owner, "hippogryphon")] == [bare]
    assert [h["document_id"] for h in await search(owner, "vorpalite", limit=1)] == [often]


async def test_deleted_text_and_deleted_sections_are_not_found(people: People) -> None:
    server = people.server
    [owner] = await people.sign_up("Owner")
    document = await owner.create_document("Drafts")
    kept = await add_section(owner, document, "Kept")
    doomed = await add_section(owner, document, "Doomed")
    client = await connect(server, owner, document)
    try:
        def first_draft(doc: Any) -> None:
            doc.get(f"section:{kept}", type=XmlFragment).children.append(
                XmlElement("paragraph", contents=[XmlText("keep basiliskine erase tarantulope")]))
            doc.get(f"section:{doomed}", type=XmlFragment).children.append(
                XmlElement("paragraph", contents=[XmlText("wyvernette lives here")]))
        await client.edit(first_draft)
        await finds(owner, "tarantulope", 1)
        await finds(owner, "wyvernette", 1)

        def erase(doc: Any) -> None:
            text = doc.get(f"section:{kept}", type=XmlFragment).children[0].children[0]
            start = str(text).index("erase")
            del text[start:len(str(text))]
        await client.edit(erase)
    finally:
        await client.close()
    deleted = await owner.http.delete(f"/api/documents/{document}/sections/{doomed}")
    assert deleted.status_code == 204, deleted.text
    # A deleted section is left out at once, before any re-indexing.
    assert await search(owner, "wyvernette") == []

    async def erased() -> bool:
        return await search(owner, "tarantulope") == []
    await until(erased)
    assert [h["section_id"] for h in await search(owner, "basiliskine")] == [kept]
    # Re-indexed since (the erasure is): the deleted section's entry went too.
    assert await search(owner, "wyvernette") == []

    # Into the trash: not found while it is there, found again once restored.
    gone = await owner.http.delete(f"/api/documents/{document}")
    assert gone.status_code == 204, gone.text
    assert await search(owner, "basiliskine") == []
    restored = await owner.http.post(f"/api/documents/{document}/restore")
    assert restored.status_code == 200, restored.text
    assert [h["section_id"] for h in await search(owner, "basiliskine")] == [kept]


async def test_fresh_within_seconds_of_an_edit_and_a_rename(
    start_server: Callable[..., ServerProcess],
) -> None:
    """With the default indexing delay: what was written, and a new title, are found within
    a few seconds (DESIGN §8)."""
    server = start_server()
    owner = await Api(server.base_url).sign_up("Owner")
    try:
        document = await owner.create_document("Logbook")
        section = await add_section(owner, document, "Day one")
        await write(server, owner, document, {section: "a glimmerwort appeared"})

        async def found() -> bool:
            return len(await search(owner, "glimmerwort")) == 1
        assert await until(found, timeout=5) < 5
        renamed = await owner.http.patch(f"/api/documents/{document}",
                                         json={"title": "Gloamingbook"})
        assert renamed.status_code == 200, renamed.text

        async def found_by_title() -> bool:
            hits = await search(owner, "gloamingbook")
            return [h["title"] for h in hits] == ["Gloamingbook"]
        assert await until(found_by_title, timeout=5) < 5
        assert await search(owner, "logbook") == []
    finally:
        await owner.aclose()


def paragraph_update(section_id: str, text: str) -> bytes:
    """An update writing one paragraph into a section, as a client's first edit would."""
    doc: Doc[Any] = Doc()
    with doc.transaction():
        doc.get(f"section:{section_id}", type=XmlFragment).children.append(
            XmlElement("paragraph", contents=[XmlText(text)]))
    return doc.get_update()


async def test_documents_due_together_are_indexed_together_and_a_poisoned_one_alone(
    start_server: Callable[..., ServerProcess],
) -> None:
    """At a start every stale document is due at once, and they are indexed together. One
    whose log crashes the text worker fails them all; then each is indexed alone: the others
    are found, and only the poisoned one is reported as failed."""
    server = start_server(search_index_delay_seconds=INDEX_DELAY)
    owner = await Api(server.base_url).sign_up("Owner")
    try:
        sections: dict[str, tuple[str, str]] = {}
        for title in ("Poisoned", "Alpha", "Beta"):
            document = await owner.create_document(title)
            sections[title] = (document, await add_section(owner, document, "Notes"))
        await finds(owner, "beta", 1)  # as created, by its title
        server.stop()
        # Behind the stopped server's back, so the start finds all three stale.
        poisoned = sections["Poisoned"][0]
        await store_update_rows(server.database_url, poisoned, SEGFAULT_UPDATES,
                                owner.user["id"])
        for title, word in (("Alpha", "quillwort"), ("Beta", "bladderwrack")):
            document, section = sections[title]
            await store_update_rows(server.database_url, document,
                                    [paragraph_update(section, f"the {word} grows")],
                                    owner.user["id"])
        server.start()
        assert [h["title"] for h in await finds(owner, "quillwort", 1)] == ["Alpha"]
        assert [h["title"] for h in await finds(owner, "bladderwrack", 1)] == ["Beta"]
        assert server.returncode is None
        events = [json.loads(line) for line in server.logs().splitlines()
                  if line.startswith("{")]
        splits = [e for e in events if e.get("event") == "search.batch_split"]
        assert splits and splits[0]["documents"] >= 3, splits
        failed = {e["document_id"] for e in events if e.get("event") == "search.index_failed"}
        assert failed == {poisoned}, failed
    finally:
        await owner.aclose()


# Query syntax of either engine (FTS5, to_tsquery), odd characters, and sizes at the bounds.
# (A lone surrogate cannot be sent as text; its UTF-8 bytes are, below.)
ODD_QUERIES = [
    '"', '"unclosed', "*", "a*", "NEAR(", "NEAR(a b)", "a AND", "OR", "NOT x", "x:AB", "a & b",
    "!x", "|", "(", ")", "{title}: x", "'", "\\", "%", "_", "^x", "-x", "+", "a:*", "\x00",
    "\ue000x\ue001", "ｑｕｏｋｋａ", "ü", "日本語", "x" * 200, "a " * 12, " ",
]
# The words of these occur in the text below: operators are plain words.
FOUND_QUERIES = {"NEAR(", "OR", "NOT x", "a AND", "x:AB", '"', "a & b"}


async def test_odd_queries_answer_sanely_and_bad_ones_say_why(people: People) -> None:
    server = people.server
    [owner] = await people.sign_up("Owner")
    document = await owner.create_document("Syntax")
    section = await add_section(owner, document, "Body")
    await write(server, owner, document, {section: 'a b x ab "quoted" NEAR OR AND NOT'})
    await finds(owner, "quoted", 1)
    for query in ODD_QUERIES:
        response = await owner.http.get("/api/search", params={"q": query})
        assert response.status_code == 200, (query, response.text)
        found = [h["document_id"] for h in response.json()]
        if query in FOUND_QUERIES - {'"'}:
            assert found == [document], query
        elif query in ('"', "*", "|", "(", ")", "'", "%", "_", "+", " ", "\x00"):
            assert found == [], query  # no word at all: nothing to find

    refused: list[tuple[dict[str, str], str]] = [
        ({}, "missing"),
        ({"q": ""}, "empty"),
        ({"q": "x" * 201}, "too long"),
        ({"q": " ".join(f"w{i}" for i in range(13))}, "too many words"),
        ({"q": "x", "limit": "0"}, "limit too small"),
        ({"q": "x", "limit": "51"}, "limit too large"),
        ({"q": "x", "limit": "ten"}, "limit not a number"),
    ]
    for params, why in refused:
        response = await owner.http.get("/api/search", params=params)
        assert response.status_code == 422, (why, response.text)
        assert response.json()["detail"], why
    # A lone surrogate's UTF-8 bytes, and bytes that are no UTF-8 at all.
    for raw in ("%ED%A0%80", "%FF%FE", "%C0%AF"):
        response = await owner.http.get(f"/api/search?q={raw}")
        assert response.status_code == 200, (raw, response.text)
        assert response.json() == []
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        response = await anonymous.get("/api/search", params={"q": "anything"})
    assert response.status_code == 401
