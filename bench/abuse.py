"""How `/api/health` answers while members abuse the server (issue 7, item 2).

A benchmark, not a test: it prints latency figures. While a probe asks `/api/health` every
20 ms, it runs, in turn and then all at once:
- registrations: N concurrent sign-ups (argon2 hashing, about 130 ms of CPU each);
- progress: N concurrent progress requests for a big document that is not loaded (rebuilding
  it and counting its words);
- towers: N members' sockets each sending a 150,000-deep element tower (refused by the depth
  bound; the server must survive it).
Each phase prints the probe's p50, p99 and max and how many answers it missed.

    .venv/bin/python bench/abuse.py [--concurrency 16] [--document-mb 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import websockets
from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText, create_update_message

from adapters import WidenAdapter

PROBE_INTERVAL_S = 0.02


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--document-mb", type=float, default=20.0,
                        help="size of the unloaded document the progress phase counts")
    return parser.parse_args(argv)


class HealthProbe:
    """Asks /api/health on a fixed beat; records each answer's latency (or a miss)."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=10.0)
        self.latencies_ms: list[float] = []
        self.misses = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                response = await self._http.get("/api/health")
                if response.status_code == 200:
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)
                else:
                    self.misses += 1
            except httpx.HTTPError:
                self.misses += 1
            await asyncio.sleep(PROBE_INTERVAL_S)

    def start(self) -> None:
        self.latencies_ms, self.misses = [], 0
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> str:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        values = sorted(self.latencies_ms) or [float("nan")]
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return (f"health p50 {statistics.median(values):7.1f} ms  p99 {p99:7.1f} ms  "
                f"max {values[-1]:7.1f} ms  answers {len(self.latencies_ms)}  "
                f"misses {self.misses}")

    async def aclose(self) -> None:
        await self._http.aclose()


def _tower_update(depth: int) -> bytes:
    doc: Doc[Any] = Doc()
    with doc.transaction():
        parent: XmlFragment | XmlElement = doc.get("section:tower", type=XmlFragment)
        for _ in range(depth):
            child = XmlElement("div")
            parent.children.append(child)
            parent = child
        parent.children.append(XmlText("top"))
    return create_update_message(doc.get_update())


def _failures(outcomes: list[BaseException | None]) -> str:
    """A phase's failed requests, counted, with the first one's error: a phase that fails
    (a handshake timing out, say) is reported beside its figures, and the next phase runs."""
    failed = [outcome for outcome in outcomes if outcome is not None]
    if not failed:
        return ""
    return f"  FAILED {len(failed)}/{len(outcomes)}: {failed[0]!r:.200}"


async def main(argv: list[str]) -> int:
    args = _parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="widen-abuse-"))
    server = WidenAdapter(workdir)
    await server.start()
    probe = HealthProbe(server.base_url)
    http = httpx.AsyncClient(base_url=server.base_url, timeout=120.0,
                             headers={"Authorization": f"Bearer {server.bearer_token}"})
    try:
        # A big document, written straight into the store and never opened: progress must
        # rebuild it from its rows.
        document = (await http.post("/api/documents", json={"title": "Big"})).json()["id"]
        await http.post(f"/api/documents/{document}/sections", json={"title": "All"})
        source: Doc[Any] = Doc()
        text = "lorem ipsum dolor sit amet " * int(args.document_mb * 1024 * 1024 / 27)
        source.get("body", type=Text).insert(0, text)
        with sqlite3.connect(server.db_path) as db:
            db.execute("INSERT INTO doc_updates (document_id, origin, kind, created_at, data) "
                       "VALUES (?, NULL, 1, 0, ?)", (document, source.get_update()))
        tower = _tower_update(150_000)
        tickets = [(await http.post(f"/api/documents/{document}/ticket")).json()["ticket"]
                   for _ in range(args.concurrency)]

        async def register(index: int) -> None:
            response = await http.post("/api/auth/register", json={
                "email": f"abuser{index}-{time.time_ns()}@example.org",
                "password": "correct horse battery", "name": f"Abuser {index}"})
            assert response.status_code == 201, response.text

        async def progress(_index: int) -> None:
            # Concurrent requests for one state share one count, as they do in production.
            response = await http.get(f"/api/documents/{document}/progress")
            assert response.status_code == 200, response.text

        async def send_tower(index: int) -> None:
            url = f"ws://127.0.0.1:{server.port}/ws/{document}?ticket={tickets[index]}"
            async with websockets.connect(url, max_size=None) as ws:
                await ws.send(tower)
                try:
                    async for _ in ws:
                        pass
                except websockets.ConnectionClosed:
                    pass

        phases: list[tuple[str, list[Callable[[int], Awaitable[None]]]]] = [
            ("idle", []),
            (f"{args.concurrency} registrations", [register]),
            (f"{args.concurrency} progress of a {args.document_mb:g} MB document", [progress]),
            (f"{args.concurrency} 150k-deep towers", [send_tower]),
            ("all at once", [register, progress, send_tower]),
        ]
        print(f"Widen, SQLite; probe every {PROBE_INTERVAL_S * 1000:.0f} ms")
        for label, kinds in phases:
            probe.start()
            started = time.perf_counter()
            outcomes: list[BaseException | None] = []
            if kinds:
                outcomes = await asyncio.gather(*(kind(i) for kind in kinds
                                                  for i in range(args.concurrency)),
                                                return_exceptions=True)
            else:
                await asyncio.sleep(2)
            elapsed = time.perf_counter() - started
            print(f"{label:40s} {elapsed:6.2f} s  {await probe.stop()}"
                  f"{_failures(outcomes)}")
            assert server.process is not None
            server.process.check_alive()
            if kinds and send_tower in kinds:
                tickets = [(await http.post(f"/api/documents/{document}/ticket"))
                           .json()["ticket"] for _ in range(args.concurrency)]
    finally:
        await probe.aclose()
        await http.aclose()
        await server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
