"""Hostile input on the websocket: a seeded fuzz run against a live server, and the small
deterministic cases it is made of.

The fuzzer mutates a corpus of valid y-websocket messages built with pycrdt (sync step 1 with real
state vectors, step 2 and updates with real Yjs updates on Text, Map, Array and XmlFragment roots,
awareness with JSON states, query-awareness, auth and unknown types) and sends them from several
attacker connections at once, while a bystander and a watcher edit and sync the whole time.

Counting is exact: after every fuzz message an attacker sends a probe, a sync step 1 the server
answers with a step 2 (see RawConnection). The server handles a connection's messages in order
and closes it at the first bad one, so the answers say how many fuzz messages it accepted, and
the message after them is the one that closed the connection. Only those count as processed;
whatever was sent after the culprit is discarded by the server and not counted. The accepted
updates, replayed in order into a fresh doc, are what the server's document, the bystander's and
the stored document must all equal. Most attacker reconnections authenticate with the session
cookie (a ticket per connection would double the cost of the several thousand reconnections).

Seed and size: WIDEN_FUZZ_SEED (default 1729) and WIDEN_FUZZ_MESSAGES (default 10000).
WIDEN_FUZZ_DUMP=<file> writes what each attacker's connections accepted (hex, in order) and every
message the bystander received, for reproducing a failure offline.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pycrdt import (
    Array,
    Doc,
    Map,
    Text,
    XmlElement,
    XmlFragment,
    XmlText,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    write_message,
    write_var_uint,
)

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.wire import (
    ROUND_TRIP_TIMEOUT,
    RawConnection,
    RecordingClient,
    awareness_entries,
    awareness_message,
    canonical_state,
    classify,
    divergences,
    message_kind,
    read_bytes,
    recording_client,
    replay,
    sync,
    wait_exit,
)

pytestmark = pytest.mark.shared_server

SEED = int(os.environ.get("WIDEN_FUZZ_SEED", "1729"))
MESSAGES = int(os.environ.get("WIDEN_FUZZ_MESSAGES", "10000"))
ATTACKERS = 4
BATCH = 4                    # fuzz messages pipelined per round trip on one connection
UNMUTATED_SHARE = 0.1       # the rest is mutated or random
BYSTANDER_EDIT_EVERY = 500   # processed fuzz messages between two bystander edits
PROTOCOL_CLOSES = {1002, 1003, 1009}
TICKET_EVERY = 8             # attacker reconnections authenticated with a ticket; else the cookie

# The corpus writes to the roots of tests.support.wire.DEFAULT_ROOTS ("bystander" is the
# bystander's own), which is how divergences describe a difference.


# --- the corpus and the mutator ---------------------------------------------------------------

def _edit(rng: random.Random, doc: Doc[Any]) -> None:
    body = doc.get("body", type=Text)
    choice = rng.randrange(10)
    if choice == 0 or len(body) == 0:
        # ASCII only where there are deletions: pycrdt indexes Text by code points.
        body.insert(rng.randrange(len(body) + 1),
                    rng.choice(["a", "bc", "hello ", "x" * rng.randrange(1, 40)]))
    elif choice == 1:
        start = rng.randrange(len(body))
        del body[start:min(len(body), start + rng.randrange(1, 5))]
    elif choice == 2:
        rich = doc.get("rich", type=Text)
        rich.insert(0, rng.choice(["ab", "cd", "ef"]))
        rich.format(0, 1 + rng.randrange(2), {"bold": True})
    elif choice == 3:
        doc.get("notes", type=Text).insert(0, rng.choice(["héllo ", "😀 ", "日本 "]))
    elif choice == 4:
        doc.get("meta", type=Map)[rng.choice("abcde")] = rng.choice(
            [1, 2.5, "s", None, True, [1, "x"], {"k": [1, 2]}, "é😀"])
    elif choice == 5:
        doc.get("meta", type=Map)[rng.choice("fgh")] = rng.choice(
            [Map({"n": 1}), Text("inner"), Array([1, 2])])
    elif choice == 6:
        items = doc.get("list", type=Array)
        items.insert(rng.randrange(len(items) + 1), rng.choice([1, "v", Map({"q": "r"}),
                                                                Text("t")]))
    elif choice == 7:
        items = doc.get("list", type=Array)
        if len(items):
            del items[rng.randrange(len(items))]
    elif choice == 8:
        doc.get("xml", type=XmlFragment).children.append(
            XmlElement("p", {"class": rng.choice("xyz")}, [XmlText("para")]))
    else:
        meta = doc.get("meta", type=Map)
        keys = sorted(meta.keys())  # a Map's key order is not deterministic
        if keys:
            del meta[rng.choice(keys)]


@dataclass
class Corpus:
    bases: list[bytes]         # every valid message: what mutations start from
    extras: list[bytes]        # valid messages sent unmutated as they are
    stream: list[bytes]        # the writers' updates as sync-update messages, in causal order


def build_corpus(rng: random.Random, client_ids: list[int], awareness_ids: list[int]) -> Corpus:
    writers: list[Doc[Any]] = [Doc(client_id=c) for c in client_ids]
    stream: list[bytes] = []
    extras: list[bytes] = []
    for _ in range(40):
        writer = rng.choice(writers)
        if rng.random() < 0.3:  # catch up with the other writer: origins across clients
            for other in writers:
                if other is not writer:
                    writer.apply_update(other.get_update(writer.get_state()))
        before = writer.get_state()
        with writer.transaction():
            for _ in range(rng.randrange(1, 4)):
                _edit(rng, writer)
        stream.append(create_update_message(writer.get_update(before)))
        if rng.random() < 0.3:  # a whole state is self-contained: fine in any order
            extras.append(sync(1, writer.get_update()))
        if rng.random() < 0.3:
            extras.append(sync(0, writer.get_state()))
    extras += [sync(0, b"\x00"), sync(1, b"\x00\x00"), create_sync_message(writers[0])]
    for client_id in awareness_ids:
        for clock in range(1, 5):
            state = rng.choice([{"user": {"name": f"u{client_id}", "color": "#fa0"}},
                                {"cursor": {"anchor": clock, "head": clock + 1}}, {}, None])
            extras.append(awareness_message([(client_id, clock, state)]))
    extras.append(awareness_message([(awareness_ids[0], 9, {"a": 1}),
                                     (awareness_ids[-1], 9, None)]))
    extras += [
        b"\x03",                                           # query awareness
        bytes([2, 0]) + write_message(b"permission denied"),  # auth, from a client: ignored
        bytes([7]) + write_message(b"payload"),            # unknown types: ignored
        bytes([4]),
        bytes([0x85, 0x01]) + b"type 133",
        bytes([0x7F]) + rng.randbytes(12),
    ]
    return Corpus(bases=stream + extras, extras=extras, stream=stream)


# Mutation kinds and how often each is picked. Each message that closes its connection costs a
# reconnection (about 5 ms of server time, the bulk of the run), so the mix keeps about a third
# of the messages fatal: the framing-breaking kinds close almost always, bit flips and payload
# flips about a third of the time (the rest are updates pycrdt accepts with corrupted content:
# the interesting kind), random bytes rarely (they mostly start with an unknown message type).
MUTATIONS = {"bitflip": 25, "payloadflip": 25, "random": 20, "byteset": 6, "insert": 2,
             "delete": 2, "truncate": 2, "varint": 4, "splice": 2, "empty": 1}


def mutate(rng: random.Random, corpus: Corpus) -> tuple[str, bytes]:
    data = bytearray(rng.choice(corpus.bases))
    label = rng.choices(list(MUTATIONS), weights=list(MUTATIONS.values()))[0]
    for _ in range(1 if rng.random() < 0.7 else rng.randrange(2, 5)):
        if label == "bitflip" and data:
            index = rng.randrange(len(data))
            data[index] ^= 1 << rng.randrange(8)
        elif label == "insert":
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif label == "delete" and data:
            del data[rng.randrange(len(data))]
        elif label == "truncate":
            data = data[:rng.randrange(len(data) + 1)]
        elif label == "varint":
            index = rng.randrange(len(data) + 1)
            how = rng.randrange(4)
            if how == 0:    # an overlong run of continuation bytes
                data[index:index] = b"\xff" * rng.randrange(1, 20)
            elif how == 1:  # a length or count far beyond the message
                data[index:index + 1] = write_var_uint(
                    rng.choice([len(data) + 1, 2**31, 2**40, 2**55]))
            elif how == 2 and index < len(data):  # a varint that runs on
                data[index] |= 0x80
            else:           # ends inside a varint
                data = data[:index] + b"\xff" * rng.randrange(1, 12)
        elif label == "splice":
            other = rng.choice(corpus.bases)
            data = data[:rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1):]
        elif label == "random":
            data = bytearray(rng.randbytes(rng.randrange(1, 64)))
        elif label == "byteset" and len(data) > 1:
            data[rng.randrange(1, len(data))] = rng.choice([0, 1, 0x7F, 0x80, 0xFF])
        elif label == "payloadflip" and len(data) > 4:  # framing intact, payload corrupted
            index = rng.randrange(4, len(data))
            data[index] ^= 1 << rng.randrange(8)
        elif label == "empty":
            data = bytearray()
    return label, bytes(data)


# --- the fuzz run -----------------------------------------------------------------------------

@dataclass
class FuzzStats:
    target: int
    processed: int = 0
    accepted: int = 0
    unmutated: int = 0
    connections: int = 0
    closes: collections.Counter[int | None] = field(default_factory=collections.Counter)
    outcomes: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    unexpected: list[str] = field(default_factory=list)
    culprits: dict[int, str] = field(default_factory=dict)   # close code -> one example (hex)
    allowed_states: set[tuple[int, str]] = field(default_factory=set)
    awareness_ids: set[int] = field(default_factory=set)
    rejected_updates: set[bytes] = field(default_factory=set)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    finished: int = 0
    server_died: str = ""

    def done(self) -> bool:
        return (self.processed - self.unmutated >= self.target or self.finished == ATTACKERS
                or bool(self.server_died))


class Attacker:
    def __init__(self, index: int, server: ServerProcess, api: Api, document_id: str,
                 stats: FuzzStats) -> None:
        self.index = index
        self.rng = random.Random(f"{SEED}/attacker/{index}")
        self.corpus = build_corpus(self.rng, [self.rng.getrandbits(32) for _ in range(2)],
                                   [self.rng.getrandbits(32) for _ in range(2)])
        self.server = server
        self.api = api
        self.document_id = document_id
        self.stats = stats
        self.accepted_updates: list[bytes] = []
        self.recent: collections.deque[str] = collections.deque(maxlen=2 * BATCH)
        self._cursor = 0
        self._connections = 0

    def _next(self) -> tuple[str, bytes]:
        if self.rng.random() >= UNMUTATED_SHARE:
            return mutate(self.rng, self.corpus)
        if self.rng.random() < 0.5:  # the writers' own updates, in the order they were made
            message = self.corpus.stream[self._cursor % len(self.corpus.stream)]
            self._cursor += 1
            return "unmutated", message
        return "unmutated", self.rng.choice(self.corpus.extras)

    def _accept(self, label: str, message: bytes) -> None:
        self.stats.processed += 1
        self.stats.accepted += 1
        self.stats.unmutated += label == "unmutated"
        kind, payload = classify(message)
        self.stats.outcomes[(label, f"accepted {kind}")] += 1
        if kind in ("step2", "update"):
            assert payload is not None
            self.accepted_updates.append(payload)
        elif kind == "awareness":
            assert payload is not None
            with contextlib.suppress(ValueError, IndexError):
                for client_id, _, raw in awareness_entries(payload):
                    self.stats.awareness_ids.add(client_id)
                    self.stats.allowed_states.add((client_id, canonical_state(raw)))

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            async with self.stats.progress:
                self.stats.finished += 1
                self.stats.progress.notify_all()

    async def _run(self) -> None:
        while not self.stats.done():
            self._connections += 1
            self.stats.connections += 1
            # Most reconnections use the session cookie: a ticket costs an HTTP round trip and
            # two writes, and several thousand reconnections would dominate the run.
            try:
                conn = await RawConnection.open(self.server, self.api, self.document_id,
                                                ticket=self._connections % TICKET_EVERY == 1)
            except (OSError, websockets.InvalidHandshake, httpx.HTTPError, TimeoutError) as exc:
                await self._check_server(f"could not connect: {exc!r}")
                return
            try:
                while not self.stats.done() and not conn.closed.is_set():
                    batch = [self._next() for _ in range(BATCH)]
                    self.recent.extend(f"{label} {message.hex()}" for label, message in batch)
                    try:
                        accepted = await conn.exchange([message for _, message in batch])
                    except TimeoutError:
                        await self._check_server(f"no answer within {ROUND_TRIP_TIMEOUT}s to "
                                           f"{[m.hex()[:80] for _, m in batch]}")
                        return
                    for label, message in batch[:accepted]:
                        self._accept(label, message)
                    if accepted < len(batch):
                        self._rejected(conn, batch[accepted])
                    async with self.stats.progress:
                        self.stats.progress.notify_all()
            finally:
                if not conn.closed.is_set():
                    await conn.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await conn._reader

    async def _check_server(self, what: str) -> None:
        exit_code = await wait_exit(self.server, 1.0)
        if exit_code is None:
            self.stats.unexpected.append(f"attacker {self.index}: {what}")
        elif not self.stats.server_died:
            self.stats.server_died = f"the server died with exit code {exit_code}"

    def _rejected(self, conn: RawConnection, culprit: tuple[str, bytes]) -> None:
        label, message = culprit
        code = conn.close_code
        self.stats.processed += 1
        self.stats.closes[code] += 1
        self.stats.outcomes[(label, f"closed {code}")] += 1
        self.stats.culprits.setdefault(code or 0, message.hex()[:120])
        if message_kind(message) in ("step2", "update"):
            self.stats.rejected_updates.add(classify(message)[1] or b"")
        if code == 1006:
            self.stats.unexpected.append(
                f"attacker {self.index}'s connection dropped without a close frame while the "
                f"server had {message.hex()[:200]} (and what it had accepted before) to handle")
        elif code not in PROTOCOL_CLOSES:
            self.stats.unexpected.append(
                f"closed with {code} {conn.ws.close_reason!r} after {message.hex()[:200]}")
        if not conn.closed.is_set():
            self.stats.unexpected.append(f"{message.hex()[:200]} got no answer, nor a close")



def _check_bystander_traffic(client: RecordingClient, stats: FuzzStats, clean_ids: set[int],
                            identity: dict[str, Any], sent_updates: set[bytes]) -> list[str]:
    """Only sync and awareness reach a bystander, and every awareness state in them is one an
    attacker validly sent (or the removal of one), under the attackers' own identity."""
    problems: list[str] = []
    for message in client.received:
        if message[0] == 0:
            if message[1] not in (0, 1, 2):
                problems.append(f"bystander got sync message type {message[1]}: {message.hex()}")
            elif message[1] == 2 and classify(message)[1] in stats.rejected_updates - sent_updates:
                problems.append(f"a refused update was relayed: {message[:400].hex()}")
            continue
        if message[0] != 1:
            problems.append(f"bystander got a type-{message[0]} message: {message[:80].hex()}")
            continue
        for client_id, _, raw in awareness_entries(read_bytes(message, 1)[0]):
            if client_id in clean_ids:
                continue
            if raw == b"null":
                if client_id not in stats.awareness_ids:
                    problems.append(f"removal of unknown awareness client {client_id}")
            elif (client_id, canonical_state(raw)) not in stats.allowed_states:
                problems.append(f"awareness state no valid message set: {client_id} {raw!r:.200}")
            elif not identity.items() <= json.loads(raw).get("user", {}).items():
                problems.append(f"awareness state without the sender's identity: {raw!r:.200}")
    for message in client.bad_messages[:3]:
        kind, payload = classify(message)
        origin = ("an update a connection sent" if payload in sent_updates else
                  "not any update a connection sent: the server's merge of several")
        problems.append(f"a client cannot apply a {kind} the server sent it, {origin}: "
                        f"{message[:4096].hex()}")
    return problems


@pytest.mark.database_independent
@pytest.mark.timeout(900)  # a few minutes when the machine is busy; bounded waits inside
async def test_fuzzed_protocol_messages_never_hurt_the_server_or_other_clients(
    live_server: ServerProcess, alice: Api
) -> None:
    """At least MESSAGES mutated or random messages (plus a tenth unmutated ones) from four
    attackers at once. Every close is 1002, 1003 or 1009; the server stays up and logs no error;
    the bystander keeps syncing with the watcher and receives only sync and awareness, no refused
    update, and only awareness that attackers validly sent; and the bystander's document, the
    watcher's, the replay of every accepted update, the server's live document and the stored
    one (after a clean restart) are all the same."""
    started = time.monotonic()
    server = live_server
    document_id = await alice.create_document()
    rng = random.Random(f"{SEED}/clients")
    bystander = await recording_client(server, alice, document_id, rng.getrandbits(32))
    watcher = await recording_client(server, alice, document_id, rng.getrandbits(32))
    await bystander.set_awareness({"user": {"name": "bystander"}})
    await bystander.put("start", 0)
    await watcher.wait_for(lambda: "start" in watcher.map())

    stats = FuzzStats(target=MESSAGES)
    attackers = [Attacker(i, server, alice, document_id, stats) for i in range(ATTACKERS)]
    latencies: list[float] = []

    async def bystander_keeps_editing() -> None:
        edits = 0
        while True:
            due = (edits + 1) * BYSTANDER_EDIT_EVERY

            def reached(due: int = due) -> bool:
                return stats.done() or stats.processed >= due

            async with stats.progress:
                await stats.progress.wait_for(reached)
            if stats.done():
                return
            edits += 1
            key = f"edit{edits}"

            def arrived(key: str = key) -> bool:
                return key in watcher.map()

            begun = time.monotonic()
            try:
                await bystander.put(key, stats.processed)
                await watcher.wait_for(arrived, timeout=30)
            except (AssertionError, TimeoutError, websockets.ConnectionClosed) as exc:
                stats.unexpected.append(f"bystander edit {edits} did not reach the watcher: "
                                        f"{exc!r}")
                return
            latencies.append(time.monotonic() - begun)

    editing = asyncio.create_task(bystander_keeps_editing())
    await asyncio.gather(*(attacker.run() for attacker in attackers))
    await editing
    fuzz_seconds = time.monotonic() - started

    summary = (f"seed {SEED}: {stats.processed} fuzz messages processed, "
               f"{stats.processed - stats.unmutated} of them mutated or random "
               f"({stats.accepted} accepted, {stats.unmutated} of them unmutated; "
               f"{stats.processed - stats.accepted} closed the connection) over "
               f"{stats.connections} connections in {fuzz_seconds:.1f}s; closes "
               f"{dict(stats.closes)}; bystander edits {len(latencies)}, slowest round trip "
               f"{max(latencies, default=0):.2f}s")
    print("\n" + summary)
    print("outcomes:", dict(sorted(stats.outcomes.items())))
    print("a culprit per close code:", stats.culprits)
    assert not stats.server_died, "\n".join([
        summary, stats.server_died, *stats.unexpected,
        "the last messages each attacker sent (one of the unanswered ones killed it):",
        *(f"  attacker {a.index}: {m}" for a in attackers for m in a.recent)])

    problems: list[str] = list(stats.unexpected)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        health = await http.get("/api/health")
        if health.status_code != 200:
            problems.append(f"/api/health answered {health.status_code}")

    # Both clean clients still sync both ways; each one's last edit is a barrier: the server
    # relays in order, so whoever sees it has every relay sent before it.
    await watcher.put("final-watcher", 1)
    await bystander.wait_for(lambda: "final-watcher" in bystander.map(), timeout=30)
    await bystander.put("final-bystander", 1)
    await watcher.wait_for(lambda: "final-bystander" in watcher.map(), timeout=30)

    # What the server accepted, in the order each connection sent it (attackers' ids are
    # disjoint, so the interleaving between them does not matter), plus the clean clients' edits.
    shadow, failures = await replay(
        [u for attacker in attackers for u in attacker.accepted_updates]
        + bystander.sent_updates + watcher.sent_updates)
    problems += failures

    if dump := os.environ.get("WIDEN_FUZZ_DUMP"):
        await asyncio.to_thread(Path(dump).write_text, json.dumps({
            "accepted": {a.index: [u.hex() for u in a.accepted_updates] for a in attackers},
            "bystander_received": [m.hex() for m in bystander.received],
            "bystander_sent": [u.hex() for u in bystander.sent_updates],
            "watcher_sent": [u.hex() for u in watcher.sent_updates]}))

    live = await recording_client(server, alice, document_id)
    clean_ids = {bystander.awareness.client_id, watcher.awareness.client_id}
    identity = {"id": alice.user["id"], "name": alice.user["name"]}
    sent = {u for attacker in attackers for u in attacker.accepted_updates}
    sent |= set(bystander.sent_updates + watcher.sent_updates)
    problems += _check_bystander_traffic(bystander, stats, clean_ids, identity, sent)
    problems += _check_bystander_traffic(watcher, stats, clean_ids, identity, sent)
    await live.close()

    await server.aterminate()
    if '"event": "server.stopped"' not in server.logs():
        problems.append("the server did not stop gracefully")
    server.restart()
    docs: dict[str, Doc[Any] | bytes] = {"bystander": bystander.doc, "watcher": watcher.doc,
                                    "server's live document": live.doc}
    if shadow is not None:
        docs["accepted updates"] = shadow
    try:
        stored = await recording_client(server, alice, document_id)
    except AssertionError as exc:
        problems.append(f"after a clean restart the document does not open: {exc}")
    else:
        await stored.close()
        docs["stored document"] = stored.doc
    problems += await divergences("bystander", docs)

    logs = server.logs()
    for needle in ("Traceback", '"level": "error"', '"level": "critical"'):
        if needle in logs:
            line = next(line for line in logs.splitlines() if needle in line)
            problems.append(f"server log has {needle!r}: {line[:300]}")
    panics = len(re.findall(r"panicked at", logs))
    print(f"Rust panics caught by the server: {panics}; total runtime "
          f"{time.monotonic() - started:.1f}s")

    assert stats.processed - stats.unmutated >= MESSAGES, summary
    assert stats.closes[1002] > 0 and stats.closes[1003] > 0, summary
    assert not problems, summary + "\n" + "\n".join(problems[:30])
    await bystander.close()
    await watcher.close()


# --- the deterministic cases ------------------------------------------------------------------

def _hello_update() -> bytes:
    doc: Doc[Any] = Doc(client_id=42)
    doc.get("body", type=Text).insert(0, "hello")
    return doc.get_update()


def _awareness_raw(state: bytes) -> bytes:
    return create_awareness_message(b"\x01\x07\x01" + write_message(state))


# (what, message, the close code it must get); a str is sent as a text frame.
CLOSING_CASES: list[tuple[str, bytes | str, int]] = [
    ("empty message", b"", 1002),
    ("truncated message type varint", b"\x80", 1002),
    ("message type varint of ten 0xff", b"\xff" * 10, 1002),
    ("truncated sync type varint", b"\x00\xff", 1002),
    ("truncated payload length varint", b"\x00\x02\xff\xff", 1002),
    ("overlong payload length varint", b"\x00\x02" + b"\xff" * 9 + b"\x01", 1002),
    ("payload length beyond the message", b"\x00\x02\x05ab", 1002),
    ("payload length of 2**40", b"\x00\x02" + write_var_uint(2**40) + b"ab", 1002),
    ("trailing bytes after the update", sync(2, b"\x00\x00") + b"\x00", 1002),
    ("unknown sync message type", sync(3, b"\x00\x00"), 1002),
    ("truncated awareness payload", b"\x01\x05\x01\x01", 1002),
    ("awareness count beyond its entries", create_awareness_message(
        b"\x02\x07\x01" + write_message(b"{}")), 1002),
    ("awareness entry with a truncated clock", create_awareness_message(b"\x01\x07\x81"), 1002),
    ("garbage update in a well-formed update message", sync(2, b"garbage!"), 1003),
    ("truncated Yjs update", sync(2, _hello_update()[:-3]), 1003),
    ("garbage update in a well-formed step 2", sync(1, b"garbage!"), 1003),
    ("garbage state vector in a step 1", sync(0, b"\x03\x01"), 1003),
    ("awareness state that is not JSON", _awareness_raw(b"{not json"), 1003),
    ("awareness state that is not an object", _awareness_raw(b"[1, 2]"), 1003),
    ("awareness state that is not UTF-8", _awareness_raw(b"\xff\xfe"), 1003),
    ("a text frame", "hello", 1003),
]

IGNORED_MESSAGES = [
    bytes([7]) + write_message(b"payload"),
    bytes([4]),
    bytes([0x7F]) + bytes(20),
    bytes([0x85, 0x01]) + b"type 133",
    bytes([0x80, 0x80, 0x01]) + b"type 16384",
    bytes([2, 0]) + write_message(b"permission denied"),  # auth is the server's to send
]


async def _clean_pair(server: ServerProcess, api: Api, document_id: str,
                      ) -> tuple[RecordingClient, RecordingClient]:
    bystander = await recording_client(server, api, document_id)
    watcher = await recording_client(server, api, document_id)
    await _still_syncing(bystander, watcher, "hello")
    return bystander, watcher


async def _still_syncing(one: RecordingClient, other: RecordingClient, key: str) -> None:
    await one.put(key, 1)
    await other.wait_for(lambda: key in other.map())
    await other.put(f"{key}/ack", 1)
    await one.wait_for(lambda: f"{key}/ack" in one.map())


def _only_sync_and_awareness(client: RecordingClient) -> None:
    kinds = {(m[0], m[1]) if m[0] == 0 else (m[0],) for m in client.received}
    assert kinds <= {(0, 0), (0, 1), (0, 2), (1,)}, kinds
    assert not client.errors, client.errors


def _no_tracebacks(server: ServerProcess) -> None:
    logs = server.logs()
    assert "Traceback" not in logs
    assert '"level": "error"' not in logs


async def test_malformed_messages_close_with_1002_or_1003_and_change_nothing(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    bystander, watcher = await _clean_pair(live_server, alice, document_id)
    await bystander.insert(0, "kept")
    await watcher.wait_text("kept")

    codes: dict[str, int | None] = {}
    for what, message, _ in CLOSING_CASES:
        conn = await RawConnection.open(live_server, alice, document_id)
        if isinstance(message, str):
            await conn.ws.send(message)
            await conn.wait_closed()
        else:
            assert not await conn.roundtrip(message), f"{what}: the connection stayed open"
        codes[what] = conn.close_code
        await _still_syncing(bystander, watcher, f"after {what}")
    assert codes == {what: code for what, _, code in CLOSING_CASES}

    # Nothing of theirs reached the others or the server's document.
    for client in (bystander, watcher):
        _only_sync_and_awareness(client)
        assert not client.awareness.states.keys() - {bystander.awareness.client_id,
                                                     watcher.awareness.client_id}
    fresh = await recording_client(live_server, alice, document_id)
    assert await divergences("bystander", {"bystander": bystander.doc, "watcher": watcher.doc,
                                            "server": fresh.doc}) == []
    assert str(fresh.text()) == "kept"
    for client in (bystander, watcher, fresh):
        await client.close()
    _no_tracebacks(live_server)


async def test_unknown_message_types_are_ignored_and_never_relayed(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    bystander, watcher = await _clean_pair(live_server, alice, document_id)
    conn = await RawConnection.open(live_server, alice, document_id)
    for message in IGNORED_MESSAGES:
        assert await conn.roundtrip(message), f"{message.hex()} closed the connection"

    # The connection still works: an update from it reaches the others.
    writer: Doc[Any] = Doc()
    writer.get("bystander", type=Map)["from-raw"] = 1
    assert await conn.roundtrip(create_update_message(writer.get_update()))
    await watcher.wait_for(lambda: "from-raw" in watcher.map())
    await bystander.wait_for(lambda: "from-raw" in bystander.map())
    assert conn.close_code is None
    for client in (bystander, watcher):
        _only_sync_and_awareness(client)
        assert not set(client.received) & set(IGNORED_MESSAGES)
    await conn.close()
    await bystander.close()
    await watcher.close()
    _no_tracebacks(live_server)


async def test_a_message_over_the_size_limit_closes_with_1009_and_others_keep_syncing(
    start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(max_message_bytes="65536")
    api = await Api(server.base_url).sign_up()
    document_id = await api.create_document()
    bystander, watcher = await _clean_pair(server, api, document_id)
    conn = await RawConnection.open(server, api, document_id)
    assert await conn.roundtrip(bytes([7]) + bytes(65535)), "a message at the limit is fine"

    big: Doc[Any] = Doc()
    big.get("body", type=Text).insert(0, "x" * 70_000)
    message = create_update_message(big.get_update())
    assert len(message) > 65536
    assert not await conn.roundtrip(message)
    assert conn.close_code == 1009
    await _still_syncing(bystander, watcher, "after the big one")
    fresh = await recording_client(server, api, document_id)
    assert str(fresh.text()) == str(bystander.text()) == ""
    for client in (bystander, watcher, fresh):
        _only_sync_and_awareness(client)
        await client.close()
    _no_tracebacks(server)
    await api.aclose()


# --- server bugs the fuzzer found, each as its smallest reproduction -------------------------
#
# pycrdt accepts or half-applies some malformed updates, and the server trusts it to either
# apply an update whole or refuse it whole. These pin what must hold instead.

# Client 3 inserts "x" into "body"; client 2's item names the string item (1, 0) as its parent.
# pycrdt integrates client 3, then raises on client 2: the server closes with 1003 but the "x"
# is already in its live doc (not stored, not relayed), so a newcomer sees what nobody else does.
HALF_APPLIED_UPDATE = bytes.fromhex("02010300040104626f6479017801020004000100017900")
# Client 2's item names (1, 0) as its parent before (1, 0) exists: pycrdt keeps it pending and
# the server stores and relays it. When client 1 later makes (1, 0) a string (any first edit),
# the pending item fails to integrate and client 1's edit is refused instead.
POISON_UPDATE = bytes.fromhex("0101020004000100017900")
# Client 1 writes "abcdefgh" and deletes "h"; a second update deletes "f" and "b" with its
# delete-set ranges out of order. Applied one after the other: "acdeg". Merged by
# `merge_updates` (the relay of one broadcast tick, the load after a restart, compaction):
# "abcdeg", the deletion of "b" is lost.
EIGHT_LETTERS_UPDATE = bytes.fromhex("01020100040104626f64790761626364656667810106010101010701")
UNSORTED_DELETE_SET = bytes.fromhex("0001010205010101")
# pycrdt applies this 33-byte update (it stays pending), but `merge_updates` turns it, alone or
# with anything else, into bytes nobody can decode. Stored as a row, it makes every later load of
# the document (after a restart, or once the idle room unloads) and every compaction fail; merged
# into a relay with another update of the same tick, it reaches clients as an undecodable message.
UNMERGEABLE_UPDATE = bytes.fromhex(
    "010474610165017706c33b0f001f010262632701046d65746101680128007c3f00")
# Four updates pycrdt accepts one after the other, the last of which makes it dereference freed
# memory: the server process dies with SIGSEGV (found by the fuzzer; yrs 0.28 via pycrdt 0.14).
SEGFAULT_UPDATES = [bytes.fromhex(hex_) for hex_ in (
    "0230dca1da8c0800040104626f64790378787884dca1da8c08020378787884dca1da8c080502787884dca1da"
    "8c08070c78787878787878787878787881dca1da8c08130384dca1da8c08160678787878787884dca1da8c08"
    "1c0178c4dca1da8c0802dca1da8c080301612101046d6574610161012101046d6574610165010101046c6973"
    "74012801046d65746101640178c4dca1da8c081cdca1da8c081d01612101046d657461016601000504010472"
    "69636802636446dca1da8c082a04626f6c64047472756586dca1da8c082b04626f6464046e756c6cc4dca1da"
    "8c0807dca1da8c08080668656c6c6f20a1dca1da8c08240100020401056e6f7465730768c3a96c6c6f2044dc"
    "a1da8c082c0163c4dca1da8c083ddca1da8c082c016441dca1da8c083d01c6dca1da8c083ddca1da8c083e04"
    "626f6c64046e756c6c2701046d6574610168012800dca1da8c0841016e017c3f80000044dca1da8c083f0261"
    "6246dca1da8c084304626f6c640474727565448d82ec2c2d02656641dca1da8c084601448d82ec2c1705f09f"
    "98802081dca1da8c0821010001a18d82ec2c2101000144dca1da8c084802656646dca1da8c085004626f6c64"
    "0474727565878d82ec2c3f0301702800085305636c6173730177017a0700085306040008550470617261a808"
    "200178080508061c78787878787878787878787878787878787878787878787878787878a82c2301770173a7"
    "084e020400087805696e6e65722f8d82ec2c00010104626f647904848d82ec2c03027878818d82ec2c050384"
    "8d82ec2c08027878818d82ec2c0a02848d82ec2c0c0278780101046c69737401070103786d6c03017028008d"
    "82ec2c100177017907008d82ec2c100604008d82ec2c1204706172610401056e6f74657305f09f9880200401"
    "0472696368026566418d82ec2c1a01868d82ec2c1b04626f6c64046e756c6c2101046d6574610168010002a1"
    "dca1da8c08340100012101046d657461016301878d82ec2c1003017028008d82ec2c24056173730177017907"
    "008d82ec2c240604008d82ec2c260470617261448d82ec2c1c026566418d82ec2c2b01448d82ec2c1705f09f"
    "988020878d82ec2c2403017028008d82ec2c31056173730177017907008d82ec2c310604008d82ec2c330470"
    "617261878d82ec2c3103017028008d82ec2c3805636c6173730177017a07008d82ec2c380604008d82ec2c3a"
    "0470617261878d82ec2c38030170280073730177017807002c3f0604002c410470617261a12c21010005c108"
    "21084c010807082e077878787878787881084c010001442c2e0768c3a96c6c6f20442c5605f09f988020022d"
    "0154033f014801",
    "0104e1b487f20b122701046d65746101680128000b1a016e017c3f800000440b22026162460b1c04626f6c64"
    "04747275650102010602",
    "0220c4ef9ae60500040104626f647901610101046c69777401000104010472696368016584c4ef9ae6050301"
    "6646c4ef9ae6050304626f6c640474727565c6c4ef9ae60503c4ef9ae6050404626f6c64046e756c6c210104"
    "6d6574610167010002070103786d6c0301702800c4ef9ae6050a017701780700c4ef9ae6050a060400c4ef9a"
    "e6050c047061726181c4ef9ae6050101000144c4ef9ae60500057878787878c4c4ef9ae60517c4ef9ae60500"
    "0178c4c4ef9ae60518c4ef9ae605000e787878787878787878787878787844fcdea6b105090163c4c4ef9ae6"
    "0527fcdea6b10509016441c4ef9ae6052701c6c4ef9ae60527c4ef9ae6052804626f6c64046e756c6c44c4ef"
    "9ae6052902656641c4ef9ae6052b01c4c4ef9ae60526c4ef9ae605000c78787878787878787878787887c4ef"
    "9ae6050a03017028617373017701790700053a060400053c0470617261c4051705180668656c6c6f20280104"
    "6d6574610165017c3f8000000401056e6f74657305f09f9880200cfcdea6b10500040104626f647902686581"
    "fcdea6b10501040801046c6973740177017604010472696368016584fcdea6b10507016646fcdea6b1050704"
    "626f6c640474727565c60507050804626f6c64046e756c6c2701046d6574610168000800050b027c3f800000"
    "7c4000000044052d02656646050e04626f6c640474727565c405180519147878787878787878787878787878"
    "787878787878020501020405012d01",
    "0104e1b487f20b0c070103786d6c0301702800e1b487f20b0c05617373017701780700e1b487f20b0c060400"
    "e1b487f20b0e047261020b010b010302"
)]
# Ten bytes each: a state vector, or an update, claiming hundreds of millions of entries. pycrdt
# reserves memory for all of them before finding out there are none: about 1 GB and a second
# of blocked event loop for the state vector, 0.5 GB for the update.
STATE_VECTOR_BOMB = sync(0, bytes.fromhex("8090bcfd020101"))
UPDATE_BOMB = sync(2, bytes.fromhex("8088debe01010100"))


async def test_a_refused_update_leaves_no_trace_in_the_live_document(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    writer = await recording_client(live_server, alice, document_id, client_id=1)
    await writer.insert(0, "abc")
    conn = await RawConnection.open(live_server, alice, document_id)
    assert not await conn.roundtrip(sync(2, HALF_APPLIED_UPDATE))
    assert conn.close_code == 1003
    fresh = await recording_client(live_server, alice, document_id)
    assert str(fresh.text()) == str(writer.text()) == "abc"
    await fresh.close()
    await writer.close()


async def test_an_update_that_can_never_integrate_does_not_lock_out_later_edits(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    watcher = await recording_client(live_server, alice, document_id)
    conn = await RawConnection.open(live_server, alice, document_id)
    await conn.roundtrip(sync(2, POISON_UPDATE))  # refusing it is fine; accepting it too
    writer = await recording_client(live_server, alice, document_id, client_id=1)
    await writer.insert(0, "abc")
    await watcher.wait_text("abc")
    assert writer.close_code is None and not writer.closed.is_set()
    assert not watcher.errors and not writer.errors
    await live_server.aterminate()
    live_server.restart()
    stored = await recording_client(live_server, alice, document_id)
    assert str(stored.text()) == "abc"
    await stored.close()


async def test_what_clients_see_and_what_is_stored_agree_on_a_shuffled_delete_set(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    watcher = await recording_client(live_server, alice, document_id)
    conn = await RawConnection.open(live_server, alice, document_id)
    # Both in one go, so they land in one broadcast tick and are relayed as one merged update.
    assert await conn.exchange([sync(2, EIGHT_LETTERS_UPDATE), sync(2, UNSORTED_DELETE_SET)]) == 2
    live = await recording_client(live_server, alice, document_id)
    await watcher.wait_for(lambda: "g" in str(watcher.text()))
    seen = {"watcher": str(watcher.text()), "server": str(live.text())}
    await live_server.aterminate()
    live_server.restart()
    stored = await recording_client(live_server, alice, document_id)
    seen["stored"] = str(stored.text())
    assert seen == {"watcher": "acdeg", "server": "acdeg", "stored": "acdeg"}
    await stored.close()


async def test_an_accepted_update_never_makes_the_document_unloadable(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    writer = await recording_client(live_server, alice, document_id)
    await writer.insert(0, "hello")
    conn = await RawConnection.open(live_server, alice, document_id)
    await conn.roundtrip(sync(2, UNMERGEABLE_UPDATE))  # refusing it is fine; accepting it too
    await writer.append(", world")
    watcher = await recording_client(live_server, alice, document_id)
    await watcher.wait_text("hello, world")
    await live_server.aterminate()
    live_server.restart()
    stored = await recording_client(live_server, alice, document_id)
    assert str(stored.text()) == "hello, world"
    await stored.close()
    _no_tracebacks(live_server)


async def test_updates_that_crash_pycrdt_do_not_take_the_server_down(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    bystander, watcher = await _clean_pair(live_server, alice, document_id)
    conn = await RawConnection.open(live_server, alice, document_id)
    for update in SEGFAULT_UPDATES:
        if conn.closed.is_set():  # refused (or dropped): go on with a new connection
            code = await wait_exit(live_server) if conn.close_code == 1006 else None
            assert code is None, f"the server died with exit code {code}"
            conn = await RawConnection.open(live_server, alice, document_id)
        await conn.roundtrip(sync(2, update))
    code = await wait_exit(live_server) if conn.close_code == 1006 else None
    assert code is None, f"the server died with exit code {code}"
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        assert (await http.get("/api/health")).status_code == 200
    await _still_syncing(bystander, watcher, "after the crashers")


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.timing
async def test_a_ten_byte_message_costs_the_server_neither_a_gigabyte_nor_a_second(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    peak_before = _peak_rss_mb(live_server.pid)
    costs = {}
    for bomb in (STATE_VECTOR_BOMB, UPDATE_BOMB):
        conn = await RawConnection.open(live_server, alice, document_id)
        begun = time.monotonic()
        assert not await conn.roundtrip(bomb)
        costs[bomb.hex()] = (conn.close_code, round(time.monotonic() - begun, 2))
    grown = _peak_rss_mb(live_server.pid) - peak_before
    report = f"(close code, seconds) per message: {costs}; peak memory grew by {grown:.0f} MB"
    assert all(code == 1003 and seconds < 0.25 for code, seconds in costs.values()), report
    assert grown < 100, report
