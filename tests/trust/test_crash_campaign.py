"""A crash campaign: rounds of `kill -9` at a random moment of a multi-client burst.

Each round (seeded, WIDEN_CRASH_SEED; 3 rounds in the suite, 20 with WIDEN_LONG=1 or
WIDEN_CRASH_ROUNDS) opens one or two new documents shared by three users, and 6 to 10 clients
(each a user's, cycling) type numbered edits into them: tokens `<cI:N>` inserted between the
tokens already there, or entries `cI:N` of a map, every one unique to its client and number. At
a random moment the server is SIGKILLed and restarted on the same database. Then, before any
old client is back:

- what the database kept (read from its rows directly, and through a fresh client: both must
  agree) is, per client, a prefix of its edits with no hole, no edit twice and nothing never
  made; it holds every edit sent more than one second before the kill (the flush interval is
  50 ms); every client id that wrote is bound to its own user;

then the old clients reconnect one by one in a seeded order, each keeping its Y.Doc as a
browser's provider does, and resync. Afterwards every edit is present exactly once, and no
client was refused.

A resync must never carry another user's edit that the database lost: the client-id binding
would refuse it with 4403 foreign-client-id (it must: the same bytes are how a member would
write as someone else), and the client's own unsaved edits would stay out with it. Rooms show
other clients only what is committed, so no client holds what the database lacks; a refusal
fails the campaign, saying which client was refused holding whose edits.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets
from pycrdt import Doc, Map, Text, create_sync_message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from crdt.schema import doc_clients, doc_updates
from tests.support.api import Api, by_link
from tests.support.server import ServerProcess
from tests.support.wire import RecordingClient

LONG = os.environ.get("WIDEN_LONG") == "1"
SEED = int(os.environ.get("WIDEN_CRASH_SEED", "8128"))
ROUNDS = int(os.environ.get("WIDEN_CRASH_ROUNDS", "20" if LONG else "3"))
USERS = 3
FLUSH_INTERVAL_MS = 50
DURABLE_AFTER_S = 1.0  # what was sent this long before the kill must be on disk
# When, after the burst starts, the kill comes: early in every third round (amid the first
# writes and client-id claims), else late enough that some edits are due on disk.
EARLY_KILL_S = (0.2, 1.0)
LATE_KILL_S = (1.2, 3.0)
TOKEN = re.compile(r"<c(\d+):(\d+)>")
MAX_RESYNC_PASSES = 5


@dataclass
class Typist:
    """One client of the burst: the edits it made, and when each one went out."""

    index: int
    user: int
    document: int
    client: RecordingClient
    rng: random.Random
    made: int = 0  # edits 0..made-1 are in its replica
    sent_at: list[float] = field(default_factory=list)  # monotonic time each send returned
    refusals: list[str] = field(default_factory=list)
    locked_out: bool = False

    @property
    def client_id(self) -> int:
        return self.client.doc.client_id


def _edit(typist: Typist, n: int) -> Callable[[Doc[Any]], None]:
    """Edit `n`: a token inserted between two tokens of the text, or an entry of the map."""
    token = f"<c{typist.index}:{n}>"
    if typist.rng.random() < 0.2:
        return lambda doc: doc.get("log", type=Map).__setitem__(f"c{typist.index}:{n}", n)
    choice = typist.rng.random()

    def insert(doc: Doc[Any]) -> None:
        text = doc.get("body", type=Text)
        boundaries = [0] + [m.end() for m in TOKEN.finditer(str(text))]
        text.insert(boundaries[int(choice * len(boundaries))], token)

    return insert


async def _type(typist: Typist, limit: int) -> None:
    """Type until the connection dies. An edit counts as made once it is in the replica: if
    its send fails it is still there, and goes out with the resync."""
    for n in range(limit):
        if typist.client.closed.is_set():
            return
        typist.made = n + 1
        try:
            await typist.client.edit(_edit(typist, n))
        except websockets.ConnectionClosed:
            return
        typist.sent_at.append(time.monotonic())
        await asyncio.sleep(typist.rng.uniform(0.002, 0.012))


def _edits_in(text: str, log: dict[str, Any]) -> list[tuple[int, int]]:
    """Every (client, number) the text and the map hold, repeats included."""
    assert re.fullmatch(r"(?:<c\d+:\d+>)*", text), f"text is not a run of tokens: {text[:200]!r}"
    found = [(int(c), int(n)) for c, n in TOKEN.findall(text)]
    for key in log:
        client, n = key[1:].split(":")
        found.append((int(client), int(n)))
    return found


def _state(doc: Doc[Any]) -> list[tuple[int, int]]:
    return _edits_in(str(doc.get("body", type=Text)), doc.get("log", type=Map).to_py() or {})


async def _stored(database_url: str, document_id: str) -> tuple[Doc[Any], dict[int, str | None]]:
    """The document as its rows make it, read from the database, and who owns which id."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(doc_updates.c.data).where(
                doc_updates.c.document_id == document_id).order_by(doc_updates.c.id))).all()
            owners = {int(r.client_id): r.origin for r in await conn.execute(
                select(doc_clients.c.client_id, doc_clients.c.origin).where(
                    doc_clients.c.document_id == document_id))}
    finally:
        await engine.dispose()
    doc: Doc[Any] = Doc()
    for row in rows:
        doc.apply_update(row.data)
    return doc, owners


async def _connect(server: ServerProcess, api: Api, document_id: str,
                   resume: RecordingClient | None = None,
                   client_id: int | None = None) -> RecordingClient:
    url = f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    client = RecordingClient(url, client_id=client_id)
    if resume is not None:
        client.doc, client.awareness = resume.doc, resume.awareness
    await client.connect()
    await client.wait_synced()
    return client


async def _settled(client: RecordingClient, timeout: float = 10.0) -> bool:
    """Ask the server for its state once more: its answer comes after it handled everything
    the client sent before (the handshake's step 2 included). False: it closed instead."""
    answers = sum(1 for m in client.received if m[:2] == b"\x00\x01")
    try:
        await client.send(create_sync_message(client.doc))
        await client.wait_for(lambda: sum(1 for m in client.received if m[:2] == b"\x00\x01")
                              > answers, timeout)
    except (AssertionError, websockets.ConnectionClosed):
        return False
    return not client.closed.is_set()


@dataclass
class RoundReport:
    clients: int
    documents: int
    edits: int
    kill_after: float
    lost_at_kill: int
    oldest_lost_s: float  # how long before the kill the oldest edit the database lacked went out
    due: int  # edits sent more than DURABLE_AFTER_S before the kill
    refusals: list[str]
    locked_out_edits: int


async def _round(number: int, server: ServerProcess, apis: list[Api],
                 database_url: str) -> RoundReport:
    rng = random.Random(f"{SEED}/{number}")
    owner = apis[0]
    documents = [await owner.create_document(f"crash {number}.{d}")
                 for d in range(rng.choice([1, 2]))]
    for document_id in documents:
        for member in apis[1:]:
            response = await owner.http.post(f"/api/documents/{document_id}/invitations", json={
                "email": member.user["email"], "role": "editor", "reason": "help"})
            assert response.status_code == 201, response.text
            accepted = await member.http.post(
                f"/api/invitations/{response.json()['id']}/accept",
                json=by_link(response.json()))
            assert accepted.status_code == 200, accepted.text
    typists = []
    for index in range(rng.randint(6, 10)):
        user, document = index % USERS, index % len(documents)
        client = await _connect(server, apis[user], documents[document],
                                client_id=rng.getrandbits(32))
        typists.append(Typist(index, user, document, client, random.Random(rng.random())))
    kill_after = rng.uniform(*(EARLY_KILL_S if number % 3 == 0 else LATE_KILL_S))

    # The burst, and the kill in the middle of it (from a thread: the typists keep typing).
    bursts = [asyncio.create_task(_type(t, 100_000)) for t in typists]
    await asyncio.sleep(kill_after)
    killed_at = time.monotonic()
    await asyncio.to_thread(server.kill)
    async with asyncio.timeout(15):
        await asyncio.gather(*bursts)
    assert all(t.client.closed.is_set() for t in typists), "a client outlived the server"
    await asyncio.to_thread(server.restart)

    # What the database kept, before any old client is back.
    problems: list[str] = []
    lost_at_kill, oldest_lost, due = 0, 0.0, 0
    stored_edits: dict[int, set[int]] = {}
    for d, document_id in enumerate(documents):
        rows_doc, owners = await _stored(database_url, document_id)
        fresh = await _connect(server, owner, document_id)
        from_rows, from_server = sorted(_state(rows_doc)), sorted(_state(fresh.doc))
        await fresh.close()
        if from_rows != from_server:
            problems.append(f"document {d}: the rows hold {len(from_rows)} edits, a fresh "
                            f"client got {len(from_server)}")
        kept = _check_kept(from_rows, [t for t in typists if t.document == d], problems,
                           f"round {number}, document {d}, after the restart")
        stored_edits.update(kept)
        for typist in (t for t in typists if t.document == d):
            numbers = kept.get(typist.index, set())
            if numbers and owners.get(typist.client_id) != apis[typist.user].user["id"]:
                problems.append(f"client c{typist.index}'s id is bound to "
                                f"{owners.get(typist.client_id)!r}, not to its own user")
            durable = sum(1 for at in typist.sent_at if at < killed_at - DURABLE_AFTER_S)
            due += durable
            if len(numbers) < durable:
                problems.append(
                    f"client c{typist.index}: the database lacks edits "
                    f"{sorted(set(range(durable)) - numbers)[:10]}, sent more than "
                    f"{DURABLE_AFTER_S} s before the kill (it kept {len(numbers)})")
            if len(numbers) < typist.made:
                lost_at_kill += typist.made - len(numbers)
                first_lost = len(numbers)
                if first_lost < len(typist.sent_at):
                    oldest_lost = max(oldest_lost, killed_at - typist.sent_at[first_lost])
    assert not problems, "\n".join(problems)

    # The old clients come back, one by one, and resync; the refused ones try again later.
    monitors = [await _connect(server, owner, document_id) for document_id in documents]
    order = list(typists)
    rng.shuffle(order)
    waiting = order
    for _ in range(MAX_RESYNC_PASSES):
        refused = []
        for typist in waiting:
            monitor = monitors[typist.document]
            typist.client = await _connect(server, apis[typist.user],
                                           documents[typist.document], resume=typist.client)
            if await _settled(typist.client):
                continue
            await asyncio.sleep(0.2)  # let the monitor hear what the server had by then
            typist.refusals.append(_describe_refusal(typist, typists, monitor, number))
            refused.append(typist)
        if not refused or len(refused) == len(waiting):
            waiting = refused
            break
        waiting = refused
    for typist in waiting:
        typist.locked_out = True

    # Every edit present exactly once (a client still refused after the others came back
    # is reported with the edits it could not hand over).
    problems += [r for t in typists for r in t.refusals]
    locked_out_edits = 0
    for d, document_id in enumerate(documents):
        final = await _connect(server, owner, document_id)
        found = _state(final.doc)
        await final.close()
        here = [t for t in typists if t.document == d]
        kept = _check_kept(sorted(found), here, problems, f"round {number}, document {d}, "
                           "after the resync", prefix=False)
        for typist in here:
            missing = sorted(set(range(typist.made)) - kept.get(typist.index, set()))
            if missing:
                problems.append(f"round {number}: edits {missing[:10]} of client "
                                f"c{typist.index}'s {typist.made} are missing after the resync"
                                + (" (it is locked out)" if typist.locked_out else ""))
            locked_out_edits += len(missing) if typist.locked_out else 0
    for monitor in monitors:
        await monitor.close()
    for typist in typists:
        await typist.client.close()
    assert not problems, "\n".join(problems)
    return RoundReport(len(typists), len(documents), sum(t.made for t in typists), kill_after,
                       lost_at_kill, oldest_lost, due,
                       [r for t in typists for r in t.refusals], locked_out_edits)


def _check_kept(found: list[tuple[int, int]], typists: list[Typist], problems: list[str],
                where: str, *, prefix: bool = True) -> dict[int, set[int]]:
    """No edit twice, none never made; with `prefix`, each client's a prefix of what it made."""
    made = {t.index: t.made for t in typists}
    kept: dict[int, set[int]] = {}
    for client, n in found:
        if client not in made or n >= made[client]:
            problems.append(f"{where}: <c{client}:{n}> was never made")
        elif n in kept.setdefault(client, set()):
            problems.append(f"{where}: <c{client}:{n}> is there twice")
        kept.setdefault(client, set()).add(n)
    if prefix:
        for client, numbers in kept.items():
            holes = sorted(set(range(max(numbers) + 1)) - numbers)
            if holes:
                problems.append(f"{where}: client c{client}'s edits have holes at {holes[:10]}: "
                                f"not a prefix of what it made")
    return kept


def _describe_refusal(typist: Typist, typists: list[Typist], monitor: RecordingClient,
                      number: int) -> str:
    """Which client was refused, how, and whose edits the server lacked that it held."""
    code, reason = typist.client.close_code, typist.client.close_reason
    held = set(_state(typist.client.doc)) - set(_state(monitor.doc))
    owner_of = {t.index: t.user for t in typists}
    foreign = sorted(e for e in held if owner_of.get(e[0]) != typist.user)
    own = sorted(e for e in held if e[0] == typist.index)
    return (f"round {number}: client c{typist.index} (user {typist.user}) was refused on resync "
            f"with {code} {reason!r}, holding {len(foreign)} unsaved edits of other users' "
            f"clients (e.g. {[f'<c{c}:{n}>' for c, n in foreign[:4]]}) and {len(own)} of its "
            "own")


@pytest.mark.timeout(3600 if LONG else 300)
async def test_kill_9_rounds_keep_prefixes_and_every_edit_resyncs_once(
    start_server: Callable[..., ServerProcess], database_url: str,
) -> None:
    """3 rounds in the suite, 20 in the long mode. Prints, per round, the clients, edits,
    the kill moment, the edits the database lacked at the kill and how long before the kill
    the oldest of them went out, and every refusal on resync."""
    started = time.monotonic()
    server = start_server(flush_interval_ms=str(FLUSH_INTERVAL_MS))
    apis = [await Api(server.base_url).sign_up(f"User {u}") for u in range(USERS)]
    reports = []
    print(f"\nseed {SEED} (WIDEN_CRASH_SEED), {ROUNDS} rounds")
    try:
        for number in range(ROUNDS):
            report = await _round(number, server, apis, database_url)
            reports.append(report)
            print(f"round {number}: {report.clients} clients on {report.documents} document(s), "
                  f"{report.edits} edits, kill at {report.kill_after:.2f} s; the database "
                  f"lacked {report.lost_at_kill} (the oldest sent "
                  f"{report.oldest_lost_s * 1000:.0f} ms before the kill), held all "
                  f"{report.due} due; {len(report.refusals)} refusals on resync, "
                  f"{report.locked_out_edits} edits locked out")
            for refusal in report.refusals:
                print("   ", refusal)
    finally:
        for api in apis:
            await api.aclose()
    print(f"{len(reports)} rounds, {sum(r.edits for r in reports)} edits in "
          f"{time.monotonic() - started:.0f} s; worst window of edits lost at a kill: "
          f"{max(r.oldest_lost_s for r in reports) * 1000:.0f} ms; refusals: "
          f"{sum(len(r.refusals) for r in reports)}; edits locked out: "
          f"{sum(r.locked_out_edits for r in reports)}")
    assert len(reports) == ROUNDS
    assert sum(r.due for r in reports) > 0, "no round ran long enough to test durability"
    assert all(r.oldest_lost_s < DURABLE_AFTER_S for r in reports)


async def test_what_a_member_saw_survives_a_kill_and_unsaved_edits_resync(
    start_server: Callable[..., ServerProcess],
) -> None:
    """The smallest case of the campaign: Bob sees Alice's edit and Alice sees Bob's, then the
    server is killed within a long flush window. Both edits survive (a member is only shown
    what is committed, so no replica holds another user's edit the crash lost, whose resync
    the client-id binding would refuse). Alice's next edit, made alone and not yet committed
    at the kill, comes back when she resyncs; Bob resyncs first and is not refused."""
    server = start_server(flush_interval_ms="1500")  # a flush window wide enough to kill in
    alice = await Api(server.base_url).sign_up("Alice")
    bob = await Api(server.base_url).sign_up("Bob")
    try:
        document_id = await alice.create_document("resync")
        response = await alice.http.post(f"/api/documents/{document_id}/invitations", json={
            "email": bob.user["email"], "role": "editor", "reason": "help"})
        assert response.status_code == 201, response.text
        accepted = await bob.http.post(f"/api/invitations/{response.json()['id']}/accept",
                                       json=by_link(response.json()))
        assert accepted.status_code == 200, accepted.text
        a = await _connect(server, alice, document_id)
        b = await _connect(server, bob, document_id)
        await a.insert(0, "<c0:0>")
        await b.wait_text("<c0:0>")
        await b.append("<c1:0>")
        await a.wait_text("<c0:0><c1:0>")
        await b.close()  # Bob keeps his replica, as a closed laptop does
        await a.append("<c0:1>")  # alone: it waits for the flush window
        await asyncio.to_thread(server.kill)
        await asyncio.to_thread(server.restart)
        stored = await _connect(server, alice, document_id)
        assert str(stored.text()) == "<c0:0><c1:0>", (
            "what the other member saw must be stored, and the lone edit not yet")
        await stored.close()
        b = await _connect(server, bob, document_id, resume=b)
        assert await _settled(b), f"Bob was refused on resync: {b.close_code} {b.close_reason}"
        a = await _connect(server, alice, document_id, resume=a)
        assert await _settled(a), f"Alice was refused: {a.close_code} {a.close_reason}"
        final = await _connect(server, alice, document_id)
        assert sorted(_edits_in(str(final.text()), {})) == [(0, 0), (0, 1), (1, 0)]
        for client in (a, b, final):
            await client.close()
    finally:
        await alice.aclose()
        await bob.aclose()
