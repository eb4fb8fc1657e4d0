"""Raw y-websocket traffic for the fuzz tests: framing helpers, a bare connection that learns
exactly which of its messages the server accepted, a client that records what it received, and
document comparison in a child process (an update pycrdt accepted may make reading a document
spin or crash inside Rust, where no timeout of this process reaches).

Moved here from tests/test_fuzz.py so the property-based fuzzer (tests/trust/) shares them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
from typing import Any

import websockets
from pycrdt import (
    Array,
    Doc,
    Map,
    Text,
    XmlFragment,
    create_awareness_message,
    write_message,
    write_var_uint,
)
from websockets.asyncio.client import ClientConnection

from app.api.deps import SESSION_COOKIE
from tests.support.api import Api
from tests.support.jsclient import JS_DIR, ensure_node_modules
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

ROUND_TRIP_TIMEOUT = 30.0    # bounded wait for one batch's probes or the close

# Roots documents are described by when two differ, with the type to read each as.
DEFAULT_ROOTS: dict[str, type[Any]] = {"body": Text, "rich": Text, "notes": Text, "meta": Map,
                                       "list": Array, "xml": XmlFragment, "bystander": Map}


# --- wire helpers ---------------------------------------------------------------------------

def read_uint(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    """A Yjs varint; only used on messages the server accepted or sent, whose framing is sound."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = read_uint(data, pos)
    if pos + length > len(data):
        raise ValueError("truncated payload")
    return data[pos:pos + length], pos + length


def classify(data: bytes) -> tuple[str, bytes | None]:
    """What an accepted client message was, decoded the way the server decodes it."""
    message_type, pos = read_uint(data, 0)
    if message_type == 0:
        sync_type, pos = read_uint(data, pos)
        payload, _ = read_bytes(data, pos)
        return {0: "step1", 1: "step2", 2: "update"}[sync_type], payload
    if message_type == 1:
        return "awareness", read_bytes(data, pos)[0]
    if message_type == 3:
        return "query", None
    return "ignored", None


def message_kind(data: bytes) -> str:
    """classify's kind, or "malformed" for a message the server would refuse to parse."""
    try:
        return classify(data)[0]
    except (IndexError, ValueError, KeyError):
        return "malformed"


def awareness_entries(payload: bytes) -> list[tuple[int, int, bytes]]:
    count, pos = read_uint(payload, 0)
    entries = []
    for _ in range(count):
        client_id, pos = read_uint(payload, pos)
        clock, pos = read_uint(payload, pos)
        raw, pos = read_bytes(payload, pos)
        entries.append((client_id, clock, raw))
    return entries


def canonical_state(raw: bytes) -> str:
    """An awareness state as JSON, less the `user` field: the server writes the sender's
    identity there."""
    state = json.loads(raw.decode())
    if isinstance(state, dict):
        state.pop("user", None)
    return json.dumps(state, sort_keys=True)


def awareness_message(entries: list[tuple[int, int, Any]]) -> bytes:
    payload = write_var_uint(len(entries))
    for client_id, clock, state in entries:
        payload += (write_var_uint(client_id) + write_var_uint(clock)
                    + write_message(json.dumps(state).encode()))
    return create_awareness_message(payload)


def sync(sync_type: int, payload: bytes) -> bytes:
    return bytes([0, sync_type]) + write_message(payload)


# --- documents --------------------------------------------------------------------------------

# Documents are compared in a child process with a deadline: an update pycrdt accepted may hold
# content that reading (or even re-encoding) spins on for ever, inside Rust, where no timeout of
# this process can interrupt it.
_INSPECT = r"""
import hashlib, json, sys
from pycrdt import Array, Doc, Map, Text, XmlFragment
KINDS = {"Text": Text, "Map": Map, "Array": Array, "XmlFragment": XmlFragment}
mode, request = sys.argv[1], json.load(sys.stdin)
if mode == "replay":
    doc = Doc()
    for update in request:
        try:
            doc.apply_update(bytes.fromhex(update))
        except BaseException as exc:
            print(json.dumps(["failed", [repr(exc), update]]), flush=True)
    print(json.dumps(["update", doc.get_update().hex()]), flush=True)
elif mode == "canonical":
    for label, update in request.items():
        try:
            doc = Doc()
            doc.apply_update(bytes.fromhex(update))
            again = Doc()
            again.apply_update(doc.get_update())
            canonical = again.get_update()
        except BaseException as exc:
            print(json.dumps(["error", f"{label}: {exc!r}"]), flush=True)
            sys.exit(1)
        print(json.dumps([label, hashlib.sha256(canonical).hexdigest()]), flush=True)
else:
    doc = Doc()
    doc.apply_update(bytes.fromhex(request["update"]))
    print(json.dumps(["roots", sorted(doc.keys())]), flush=True)
    for name, kind in request["roots"].items():
        if name in doc.keys():
            root = doc.get(name, type=KINDS[kind])
            value = root.to_py() if kind in ("Map", "Array") else str(root)
            print(json.dumps([name, value], default=repr), flush=True)
"""


async def inspect(mode: str, request: Any, timeout: float) -> tuple[
        dict[str, Any], bool]:
    """Run _INSPECT; return what it printed (one JSON pair a line) and whether it finished."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _INSPECT, mode, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "RUST_BACKTRACE": "0"})
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(request).encode())
    process.stdin.close()
    output = bytearray()
    finished = True
    try:
        async with asyncio.timeout(timeout):
            while chunk := await process.stdout.read(1 << 16):
                output += chunk
            finished = await process.wait() == 0
    except TimeoutError:
        finished = False
        process.kill()
        await process.wait()
    pairs = [json.loads(line) for line in output.decode().splitlines() if line.startswith("[")]
    found: dict[str, Any] = {"failed": []}
    for key, value in pairs:
        if key == "failed":
            found["failed"].append(value)
        else:
            found[key] = value
    return found, finished


async def replay(updates: list[bytes]) -> tuple[bytes | None, list[str]]:
    """Apply updates in order to a fresh doc (in a child process): its state, and failures."""
    found, finished = await inspect("replay", [u.hex() for u in updates], 60)
    failures = [f"an accepted update fails on replay: {exc} {update[:400]}"
                for exc, update in found["failed"]]
    if not finished:
        failures.append("replaying the accepted updates crashed or hung")
    return (bytes.fromhex(found["update"]) if "update" in found else None), failures


async def describe(update: bytes, roots: dict[str, type[Any]] | None = None) -> dict[str, Any]:
    """The roots of a full-state update, read in a child process (see `inspect`)."""
    view, finished = await inspect(
        "view", {"update": update.hex(),
                 "roots": {name: kind.__name__
                           for name, kind in (roots or DEFAULT_ROOTS).items()}}, 20)
    view.pop("failed")
    if not finished:
        view["<unreadable>"] = "reading the next root failed or never returned"
    return view


async def divergences(reference: str, docs: dict[str, Doc[Any] | bytes],
                      roots: dict[str, type[Any]] | None = None) -> list[str]:
    """Which docs (or full-state updates) differ from docs[reference] in their integrated CRDT
    state, and how (by the `roots` they differ in)."""
    updates = {label: doc if isinstance(doc, bytes) else doc.get_update()
               for label, doc in docs.items()}
    hashes, finished = await inspect("canonical", {k: v.hex() for k, v in updates.items()}, 60)
    problems = [] if finished else [
        f"re-encoding a document failed or hung; got {sorted(set(hashes) - {'failed', 'error'})}"
        f" ({hashes.get('error', 'no error message')})"]
    for label in updates:
        if label in (reference, "failed") or hashes.get(label) == hashes.get(reference):
            continue
        mine = await describe(updates[label], roots)
        theirs = await describe(updates[reference], roots)
        keys = [k for k in {**mine, **theirs} if mine.get(k) != theirs.get(k)]
        detail = "; ".join(f"{k}: {label}={mine.get(k)!r:.300} {reference}={theirs.get(k)!r:.300}"
                           for k in keys) or "same visible roots, different CRDT state"
        problems.append(f"{label} != {reference}: {detail}")
    return problems


async def yjs_divergences(reference: str, docs: dict[str, Doc[Any] | bytes],
                          roots: dict[str, type[Any]] | None = None) -> list[str]:
    """Like `divergences`, but the states are compared as the official Yjs code integrates
    them (tests/js/canonical.mjs), item by item and deletion by deletion: yrs encodes a JSON
    object's keys in an order that varies between documents, so equal states need not encode
    to equal bytes, and may keep a deleted item Yjs garbage-collects. A state Yjs cannot decode
    is a problem of its own."""
    updates = {label: doc if isinstance(doc, bytes) else doc.get_update()
               for label, doc in docs.items()}
    await asyncio.to_thread(ensure_node_modules)
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    process = await asyncio.create_subprocess_exec(
        node, str(JS_DIR / "canonical.mjs"), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=JS_DIR)
    async with asyncio.timeout(120):
        out, err = await process.communicate(
            json.dumps({k: v.hex() for k, v in updates.items()}).encode())
    if process.returncode != 0:
        return [f"comparing the documents with Yjs failed: {err.decode()[-500:]}"]
    hashes: dict[str, str] = json.loads(out)
    problems = [f"{label}: Yjs cannot decode its state: {value}"
                for label, value in hashes.items() if value.startswith("error")]
    for label in updates:
        if label == reference or hashes[label] == hashes[reference]:
            continue
        mine = await describe(updates[label], roots)
        theirs = await describe(updates[reference], roots)
        keys = [k for k in {**mine, **theirs} if mine.get(k) != theirs.get(k)]
        detail = "; ".join(f"{k}: {label}={mine.get(k)!r:.300} {reference}={theirs.get(k)!r:.300}"
                           for k in keys) or "same visible roots, different CRDT state"
        problems.append(f"{label} != {reference}: {detail}")
    return problems


# --- clients ----------------------------------------------------------------------------------

class RecordingClient(YClient):
    """A YClient that keeps every message the server sent it and any error handling one."""

    def __init__(self, url: str, *, client_id: int | None = None) -> None:
        super().__init__(url, client_id=client_id)
        self.received: list[bytes] = []
        self.errors: list[str] = []
        self.bad_messages: list[bytes] = []

    async def _handle(self, message: bytes) -> None:
        self.received.append(message)
        try:
            await super()._handle(message)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a relayed message pycrdt cannot take
            self.errors.append(f"{exc!r} handling {message[:4096].hex()}")
            self.bad_messages.append(message)
            async with self._changed:
                self._changed.notify_all()

    def map(self, name: str = "bystander") -> Map[Any]:
        entries: Map[Any] = self.doc.get(name, type=Map)
        return entries

    async def put(self, key: str, value: Any, name: str = "bystander") -> bytes:
        return await self.edit(lambda doc: doc.get(name, type=Map).__setitem__(key, value))


class RawConnection:
    """A bare websocket to the server that learns which of its messages were accepted.

    Every message goes out followed by a probe, a sync step 1 whose state vector claims
    everything the server had when we joined, so its step 2 answer is small. The server handles
    one connection's messages in order and closes it at the first bad one, and nothing but a
    step 1 makes it answer with a step 2 (relays are sync updates), so the number of step 2
    answers says exactly how many messages it accepted before the one that closed us.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.answers = 0
        self.received: list[bytes | str] = []
        self.probe = b""
        self.ready = asyncio.Event()
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: ServerProcess, api: Api, document_id: str, *,
                   ticket: bool = True) -> RawConnection:
        """Authenticate with a single-use ticket, or (cheaper: no HTTP round trip and no write)
        with the session cookie and the app's own Origin, as a browser tab does."""
        if ticket:
            url = f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
            headers = {}
        else:
            url = f"{server.ws_url}/{document_id}"
            headers = {"Cookie": f"{SESSION_COOKIE}={api.token}", "Origin": server.base_url}
        ws = await websockets.connect(url, max_size=None, compression=None, open_timeout=10,
                                      additional_headers=headers)
        conn = cls(ws)
        async with asyncio.timeout(10):
            await conn.ready.wait()
        return conn

    @property
    def close_code(self) -> int | None:
        code = self.ws.close_code
        return None if code is None else int(code)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.received.append(message)
                if isinstance(message, bytes) and message[:2] == b"\x00\x01":
                    self.answers += 1
                elif isinstance(message, bytes) and message[:2] == b"\x00\x00" and not self.probe:
                    state = read_bytes(message, 2)[0]
                    count, pos = read_uint(state, 0)
                    clients = []
                    for _ in range(count):
                        client, pos = read_uint(state, pos)
                        clients.append(client)
                        _, pos = read_uint(state, pos)
                    self.probe = sync(0, write_var_uint(len(clients)) + b"".join(
                        write_var_uint(c) + write_var_uint(2**40) for c in clients))
                    self.ready.set()
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self.ready.set()
            self._changed.set()

    async def exchange(self, messages: list[bytes], timeout: float = ROUND_TRIP_TIMEOUT) -> int:
        """Send the messages, each with a probe; return how many of them the server accepted.
        Fewer than all: the next one closed the connection (or the timeout ran out)."""
        before = self.answers
        # Answers each message yields if accepted: its probe's, and its own if it is a step 1.
        owed = [1 + (message_kind(message) == "step1") for message in messages]
        with contextlib.suppress(websockets.ConnectionClosed):
            for message in messages:
                await self.ws.send(message)
                await self.ws.send(self.probe)
        async with asyncio.timeout(timeout):
            while self.answers < before + sum(owed) and not self.closed.is_set():
                self._changed.clear()
                await self._changed.wait()
        answers, accepted = self.answers - before, 0
        for answers_owed in owed:
            if answers < answers_owed:
                break
            answers -= answers_owed
            accepted += 1
        assert answers == 0, f"{answers} step 2 answers more than the messages account for"
        return accepted

    async def roundtrip(self, message: bytes, timeout: float = 10.0) -> bool:
        """Send one message: True if it was accepted, False if it closed the connection."""
        return await self.exchange([message], timeout) == 1

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        async with asyncio.timeout(timeout):
            await self.closed.wait()
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def recording_client(server: ServerProcess, api: Api, document_id: str,
                            client_id: int | None = None) -> RecordingClient:
    url = f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    client = RecordingClient(url, client_id=client_id)
    await client.connect_synced()
    return client



async def wait_exit(server: ServerProcess, timeout: float = 3.0) -> int | None:
    """The server's exit code if it exits within `timeout`, else None (it is still up)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while server.returncode is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    return server.returncode

