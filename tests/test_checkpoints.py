"""Automatic checkpoints on a real server: when edits pause, at the latest after the maximum
interval while editing goes on, and when a room unloads; each lists who edited since the
previous version and the words they added and removed; versions outlive log compaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.sharing import append, connect, share


async def _versions_until(api: Api, document_id: str,
                          done: Callable[[list[dict[str, Any]]], bool],
                          timeout: float = 15.0) -> list[dict[str, Any]]:
    """The document's history once `done` holds of it (polled: history is an HTTP list)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = await api.http.get(f"/api/documents/{document_id}/versions")
        assert listed.status_code == 200, listed.text
        versions: list[dict[str, Any]] = listed.json()
        if done(versions):
            return versions
        assert time.monotonic() < deadline, f"history is still {versions}"
        await asyncio.sleep(0.1)


async def test_a_pause_makes_a_checkpoint_with_its_editors_and_words(
    start_server: Callable[..., ServerProcess], make_api: Any
) -> None:
    del make_api
    server = start_server(checkpoint_quiet_seconds="0.5", checkpoint_max_seconds="3600",
                          compaction_threshold="5")
    owner = await Api(server.base_url).sign_up("Olive")
    editor = await Api(server.base_url).sign_up("Ed")
    shared = await share(server, owner, editor, "editor")
    # The owner's edits in `share` make the first checkpoint, once they pause.
    first = await _versions_until(owner, shared.document_id, lambda v: len(v) == 1)
    assert first[0]["kind"] == "auto"
    assert [e["name"] for e in first[0]["editors"]] == ["Olive"]

    client = await connect(server, editor, shared.document_id)
    for word in (" one", " two", " three", " four", " five", " six"):
        await append(client, shared.section_a, word)
    versions = await _versions_until(
        owner, shared.document_id,
        lambda v: len(v) == 2 and v[0]["words"] is not None)
    latest = versions[0]
    assert [e["name"] for e in latest["editors"]] == ["Ed"]
    section_a = shared.section_a.removeprefix("section:")
    assert latest["words"][section_a] == {"added": 6, "removed": 0}
    # The log was compacted meanwhile (threshold 5 rows): the first version still opens.
    opened = await owner.http.get(
        f"/api/documents/{shared.document_id}/versions/{versions[1]['id']}")
    texts = {s["section_id"]: s["text"] for s in opened.json()["sections"]}
    assert texts[section_a] == "alpha"
    await client.close()
    await shared.owner.close()
    for api in (owner, editor):
        await api.aclose()


async def test_editing_without_a_pause_is_checkpointed_at_the_maximum_interval(
    start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(checkpoint_quiet_seconds="60", checkpoint_max_seconds="1.5")
    owner = await Api(server.base_url).sign_up("Olive")
    document_id = await owner.create_document()
    response = await owner.http.post(f"/api/documents/{document_id}/sections",
                                     json={"title": "A"})
    root = f"section:{response.json()['id']}"
    client = await connect(server, owner, document_id)
    started = time.monotonic()
    while time.monotonic() - started < 4:
        await append(client, root, "x")
        await asyncio.sleep(0.1)
    versions = await _versions_until(owner, document_id, lambda v: len(v) >= 2, timeout=2)
    assert all(v["kind"] == "auto" for v in versions)
    await client.close()
    await owner.aclose()


async def test_a_room_that_unloads_keeps_its_edits_in_a_checkpoint(
    start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(checkpoint_quiet_seconds="600", room_idle_seconds="0.3")
    owner = await Api(server.base_url).sign_up("Olive")
    document_id = await owner.create_document()
    response = await owner.http.post(f"/api/documents/{document_id}/sections",
                                     json={"title": "A"})
    root = f"section:{response.json()['id']}"
    client = await connect(server, owner, document_id)
    await append(client, root, "kept at unload")
    assert (await owner.http.get(f"/api/documents/{document_id}/versions")).json() == []
    await client.close()
    versions = await _versions_until(owner, document_id, lambda v: len(v) == 1)
    opened = await owner.http.get(f"/api/documents/{document_id}/versions/{versions[0]['id']}")
    assert [s["text"] for s in opened.json()["sections"]] == ["kept at unload"]
    await owner.aclose()
