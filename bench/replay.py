"""Replay a real editing trace through a server from one client, then load it back cold.

Usage: .venv/bin/python bench/replay.py [--server widen|yws|pycrdt] [--limit N]
       [--trace ../shared/data/automerge-paper.json.gz]

Every transaction of the trace becomes one Yjs update, sent as one sync-update message,
pipelined (never waiting for the server between messages), as a fast typist's client
would. The updates are encoded before the clock starts, so the times are the server's and
the socket's, not pycrdt's. Completion is observed by a second client that joins after the
last send and waits until its text equals the trace's final text.

For Widen it then reports what was stored (database file, update rows) and restarts the
server on the same database to time a cold load: connect -> synced text equals the trace.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pycrdt import Doc, Text, TransactionEvent, create_sync_message, create_update_message
from websockets.exceptions import ConnectionClosedError

from adapters import ADAPTERS, REPO_DIR, ServerAdapter, WidenAdapter, make_adapter
from proctools import cpu_sample
from ywire import YClient

DEFAULT_TRACE = REPO_DIR.parent / "shared" / "data" / "automerge-paper.json.gz"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
COMPLETE_WITHIN_S = 600.0
RESYNC_WHEN_QUIET_S = 0.5
GIVE_UP_AFTER_RESYNCS = 20
MIB = 1024 * 1024


@dataclass(frozen=True)
class EncodedTrace:
    """The trace as ready-to-send messages, and the text they must produce."""

    messages: list[bytes]
    expected: str
    encode_s: float


def encode_trace(path: Path, limit: int | None, text_name: str) -> EncodedTrace:
    """Apply the trace to a local pycrdt doc, one transaction per trace txn, keeping updates."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        trace = json.load(handle)
    txns = trace["txns"] if limit is None else trace["txns"][:limit]
    doc: Doc[Any] = Doc()
    text = doc.get(text_name, type=Text)
    if trace["startContent"]:
        raise ValueError("traces with a non-empty startContent are not supported")
    updates: list[bytes] = []

    def keep(event: TransactionEvent) -> None:
        updates.append(event.update)

    subscription = doc.observe(keep)
    started = time.perf_counter()
    for txn in txns:
        with doc.transaction():
            for position, delete_count, insert in txn["patches"]:
                if delete_count:
                    del text[position : position + delete_count]
                if insert:
                    text.insert(position, insert)
    encode_s = time.perf_counter() - started
    doc.unobserve(subscription)
    result = str(text)
    if limit is None and result != trace["endContent"]:
        raise RuntimeError("local replay does not reproduce endContent: the trace reader is wrong")
    return EncodedTrace([create_update_message(u) for u in updates], result, encode_s)


async def _drain(client: YClient) -> str:
    """Read (and drop) what the server sends the writer, e.g. echoes of its own updates.

    Returns how the connection ended, for the report: some servers drop the TCP connection
    instead of answering our close frame, which says nothing about the data (the second
    client checks that).
    """
    try:
        async for _message in client.ws:
            client.messages_in += 1
    except ConnectionClosedError as exc:
        return f"abnormal ({exc})"
    return "normal"


@dataclass(frozen=True)
class Arrival:
    """How a fresh client got the whole text."""

    seconds: float
    resyncs: int
    client: YClient


async def wait_for_text(url: str, text_name: str, expected: str) -> Arrival:
    """Connect a fresh client; time until its text equals `expected`.

    Broadcasts alone may not complete it: a server can drop them under a pipelined burst
    (pycrdt-websocket 0.16 discards updates once its broadcast queue holds 65,536). So when
    the server goes quiet while the text is still incomplete, the client asks again with a
    new sync step 1, as y-websocket's `resyncInterval` would; the server answers with what
    the client lacks. The count of such re-asks is reported.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + COMPLETE_WITHIN_S
    doc: Doc[Any] = Doc()
    text = doc.get(text_name, type=Text)
    client = await YClient.open(url, doc)
    await client.sync(deadline)
    resyncs = 0
    state = doc.get_state()
    fruitless = 0  # re-asks in a row that brought nothing: the server has no more to give
    while len(text) != len(expected) or str(text) != expected:
        quiet_deadline = min(deadline, time.monotonic() + RESYNC_WHEN_QUIET_S)
        try:
            message = await client.recv(quiet_deadline)
        except TimeoutError:
            if time.monotonic() >= deadline or fruitless >= GIVE_UP_AFTER_RESYNCS:
                raise RuntimeError(
                    f"the server does not hold the whole trace: {_difference(str(text), expected)}"
                    f" ({resyncs} re-asks)"
                ) from None
            state = doc.get_state()
            await client.ws.send(create_sync_message(doc))
            resyncs += 1
            fruitless += 1
            continue
        await client.handle(message)
        if fruitless and doc.get_state() != state:
            fruitless = 0
    return Arrival(time.perf_counter() - started, resyncs, client)


def _difference(got: str, expected: str) -> str:
    """Where two texts part, briefly."""
    index = next(
        (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
        min(len(got), len(expected)),
    )
    return (
        f"got {len(got)} chars, expected {len(expected)}; first difference at {index}: "
        f"got {got[index : index + 30]!r}, expected {expected[index : index + 30]!r}"
    )


async def replay(adapter: ServerAdapter, trace: EncodedTrace, text_name: str) -> str:
    """Send the whole trace through the adapter's server, print the timings, return the room."""
    room = (await adapter.create_rooms(1))[0]
    writer = await YClient.open(await adapter.connect_url(room), Doc())
    # An empty doc for the handshake: the document must travel as the trace's updates.
    await writer.sync(time.monotonic() + 30)
    handshake_messages = writer.messages_in
    reader = asyncio.create_task(_drain(writer))
    try:
        cpu0 = cpu_sample(adapter.pids)
        started = time.perf_counter()
        for message in trace.messages:
            await writer.ws.send(message)
        send_s = time.perf_counter() - started
        verifier_url = await adapter.connect_url(room)
        arrival = await wait_for_text(verifier_url, text_name, trace.expected)
        total_s = time.perf_counter() - started
        server_cpu_s = cpu_sample(adapter.pids).seconds_since(cpu0)
        await arrival.client.close()
    finally:
        await writer.close()
        writer_close = await reader

    print(f"  websocket extensions    {writer.extensions}")
    print(
        f"  updates sent            {len(trace.messages)} "
        f"({sum(map(len, trace.messages)) / MIB:.1f} MiB of messages)"
    )
    print(f"  send time               {send_s:.2f} s ({len(trace.messages) / send_s:,.0f} msg/s)")
    print(f"  total time              {total_s:.2f} s (first send -> 2nd client has it all)")
    print(f"  2nd client re-asks      {arrival.resyncs} (sync step 1 after 0.5 s of quiet)")
    print(
        f"  server CPU              {server_cpu_s:.2f} s "
        f"({server_cpu_s * 1e6 / len(trace.messages):.0f} us per update)"
    )
    print(f"  messages back to writer {writer.messages_in - handshake_messages} (echoes)")
    print(f"  writer connection close {writer_close}")
    return room


def storage_report(db_path: Path) -> None:
    """Print the database's size on disk and what its update log holds."""
    files = [p for p in db_path.parent.glob(db_path.name + "*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    names = ", ".join(f"{p.name} {p.stat().st_size / MIB:.2f} MiB" for p in sorted(files))
    print(f"  database on disk        {total / MIB:.2f} MiB ({names})")
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        print("  rows per table          " + ", ".join(f"{t} {n}" for t, n in counts.items()))
        if "doc_updates" not in tables:
            print("  stored update bytes     n/a (no doc_updates table)")
            return
        columns = {
            row[1]: (row[2] or "").upper() for row in db.execute("PRAGMA table_info(doc_updates)")
        }
        candidates = [c for c in ("update", "data") if c in columns]
        candidates += [c for c, kind in columns.items() if kind == "BLOB" and c not in candidates]
        if not candidates:
            print(f"  stored update bytes     n/a (doc_updates has no blob column: {columns})")
            return
        column = candidates[0]
        rows, size = db.execute(
            f'SELECT COUNT(*), COALESCE(SUM(LENGTH("{column}")), 0) FROM doc_updates'
        ).fetchone()
        print(
            f"  stored update bytes     {size / MIB:.2f} MiB in {rows} rows (doc_updates.{column})"
        )


async def cold_load(adapter: WidenAdapter, room: str, text_name: str, expected: str) -> None:
    """Restart Widen on the same database and time a new client's first full sync."""
    started = time.perf_counter()
    await adapter.start()
    print(f"  restart to healthy      {time.perf_counter() - started:.2f} s")
    url = await adapter.connect_url(room)
    arrival = await wait_for_text(url, text_name, expected)
    await arrival.client.close()
    print(
        f"  cold load               {arrival.seconds:.2f} s "
        f"(connect -> synced text equals the trace; {arrival.resyncs} re-asks)"
    )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Its Python client speaks y-websocket's framing only.
    plain = sorted(name for name, kind in ADAPTERS.items() if kind.framing == "y-websocket")
    parser.add_argument("--server", default="widen", choices=plain)
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--limit", type=int, default=None, help="replay only the first N txns")
    parser.add_argument("--text-name", default="text", help="root Y.Text name to write")
    parser.add_argument(
        "--keep", action="store_true", help="keep the server log and database in bench/results/"
    )
    args = parser.parse_args(argv)
    # Progress lines show up while it runs.
    cast(io.TextIOWrapper, sys.stdout).reconfigure(line_buffering=True)

    trace = encode_trace(args.trace, args.limit, args.text_name)
    print(f"== replay {args.trace.name} through {args.server} ==")
    print(
        f"  encoded locally         {len(trace.messages)} updates in {trace.encode_s:.2f} s "
        f"(pycrdt; not part of the times below)"
    )
    keep_dir = RESULTS_DIR / f"replay-{time.strftime('%Y%m%d-%H%M%S')}" if args.keep else None
    with tempfile.TemporaryDirectory(prefix="widen-replay-") as scratch:
        adapter = make_adapter(args.server, keep_dir or Path(scratch))
        try:
            await adapter.start()
            print(f"  server                  {adapter.describe()}")
            room = await replay(adapter, trace, args.text_name)
            if isinstance(adapter, WidenAdapter):
                await stop_and_say(adapter)
                storage_report(adapter.db_path)
                await cold_load(adapter, room, args.text_name, trace.expected)
            else:
                print("  (no persistence: stored size and cold load apply to Widen only)")
        except Exception:
            if adapter.process is not None:
                print(f"-- {adapter.name} server log tail:", file=sys.stderr)
                print(adapter.process.log_tail(), file=sys.stderr)
            raise
        finally:
            await adapter.stop()
            await adapter.aclose()
    return 0


async def stop_and_say(adapter: ServerAdapter) -> None:
    """Stop with SIGTERM and report how long the final flush took, or that it was killed."""
    assert adapter.process is not None
    started = time.perf_counter()
    exit_code = await adapter.stop()
    took = time.perf_counter() - started
    if adapter.process.killed:
        print(
            f"  graceful stop           NOT within {adapter.stop_grace_s:.0f} s: killed "
            "(anything not yet committed is lost)"
        )
    else:
        print(f"  graceful stop           {took:.2f} s (exit status {exit_code})")


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
