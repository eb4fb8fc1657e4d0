"""What idle costs: server memory per idle loaded document and per idle connection.

Usage: .venv/bin/python bench/idle.py [--servers widen,yws] [--docs 200] [--clients 2000]

Per server, in turn: start it and make `--docs` empty documents, read its resident memory
(the server process alone, not its workers: they do not grow with sockets), open one client
per document (each document is now loaded) and read it again, then open `--clients` more,
spread evenly over the documents, each synced (it sent sync step 1 and got step 2) and then
silent, wait for the server to settle and read it a third time. Prints the memory per loaded
document and per idle connection, and Widen's ratio to each other server. The clients run in
this process (asyncio + websockets): only the server's memory is measured. A benchmark, not a
test: it exits non-zero only if a client could not connect and sync.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from pycrdt import Doc

from adapters import ADAPTERS, ServerAdapter
from ywire import YClient

SETTLE_S = 3.0
CONNECT_CONCURRENCY = 200
SYNC_TIMEOUT_S = 60.0
KB = 1024


@dataclass
class IdleResult:
    server: str
    docs: int
    clients: int
    started_kb: float
    loaded_kb: float
    connected_kb: float

    @property
    def per_document_kb(self) -> float:
        return (self.loaded_kb - self.started_kb) / self.docs

    @property
    def per_connection_kb(self) -> float:
        return (self.connected_kb - self.loaded_kb) / self.clients


def _rss_kb(adapter: ServerAdapter) -> float:
    return sum(psutil.Process(pid).memory_info().rss for pid in adapter.pids) / KB


async def _synced_client(url: str) -> YClient:
    """A client that has sent sync step 1 and received step 2, and then says nothing."""
    client = await YClient.open(url, Doc(), compression=None)
    await client.sync(time.monotonic() + SYNC_TIMEOUT_S)
    return client


async def _connect(adapter: ServerAdapter, rooms: list[str], count: int,
                   first: int) -> list[YClient]:
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(index: int) -> YClient:
        async with limit:
            room = rooms[index % len(rooms)]
            return await _synced_client(await adapter.connect_url(room, first + index))

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def measure(name: str, docs: int, clients: int, workdir: Path) -> IdleResult:
    (workdir / name).mkdir()
    adapter = ADAPTERS[name](workdir / name)
    await adapter.start()
    connections: list[YClient] = []
    try:
        rooms = await adapter.create_rooms(docs)
        await asyncio.sleep(SETTLE_S)
        started = _rss_kb(adapter)
        connections += await _connect(adapter, rooms, docs, 0)
        await asyncio.sleep(SETTLE_S)
        loaded = _rss_kb(adapter)
        connections += await _connect(adapter, rooms, clients, docs)
        await asyncio.sleep(SETTLE_S)
        return IdleResult(name, docs, clients, started, loaded, _rss_kb(adapter))
    finally:
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        await adapter.stop()


def report(results: list[IdleResult]) -> str:
    lines = []
    for r in results:
        lines.append(
            f"== {r.server}: {r.docs} documents, {r.clients} idle connections\n"
            f"   server RSS             started {r.started_kb / KB:.0f} MB, documents loaded "
            f"{r.loaded_kb / KB:.0f} MB, connected {r.connected_kb / KB:.0f} MB\n"
            f"   per loaded document    {r.per_document_kb:.1f} KB\n"
            f"   per idle connection    {r.per_connection_kb:.1f} KB")
    widen = next((r for r in results if r.server == "widen"), None)
    for other in results:
        if widen is None or other is widen:
            continue
        lines.append(
            f"== widen / {other.server}\n"
            f"   per loaded document    {widen.per_document_kb / other.per_document_kb:.2f}x\n"
            f"   per idle connection    "
            f"{widen.per_connection_kb / other.per_connection_kb:.2f}x")
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="widen,yws")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=2000)
    args = parser.parse_args()
    names = [name for name in args.servers.split(",") if name]
    unknown = [name for name in names if name not in ADAPTERS or name == "hocus"]
    if unknown:
        parser.error(f"not a y-websocket-framed server here: {', '.join(unknown)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="widen-idle-") as workdir:
        for name in names:
            print(f"-- {name}: running", flush=True)
            results.append(await measure(name, args.docs, args.clients, Path(workdir)))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
