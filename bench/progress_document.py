"""A document's progress (`GET /api/documents/{id}/progress`) when its history is long: the
whole automerge-paper trace (259,778 edits).

Usage: .venv/bin/python bench/progress_document.py [--every 1] [--runs 21] [--concurrent 10]
       [--trace ../shared/data/automerge-paper.json.gz]

Starts Widen (SQLite, in a temp dir) and replays the trace into one section from one client,
`--every` transactions per update (1: every edit its own update, as typed; the replay then
takes minutes). Then, with the writer still connected (the room loaded) and once the store
has written everything: the page's request `--runs` times, p50 and max. Then the server
restarts (nothing loaded) and the same request is timed cold (rebuilt from the store in the
worker pool) and warm. Last, a new edit (a state nothing has counted) and a restart, and
`--concurrent` such requests at once while a probe asks `/api/health` every 20 ms: its p99.
Targets: p50 under 50 ms; the health probe unharmed.
Prints figures; a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Doc, XmlElement, XmlFragment, XmlText, create_update_message

from abuse import HealthProbe
from adapters import WidenAdapter
from history import DEFAULT_TRACE, segments
from ywire import YClient

TARGET_P50_MS = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--every", type=int, default=1, help="transactions per update")
    parser.add_argument("--runs", type=int, default=21, help="timings per figure")
    parser.add_argument("--concurrent", type=int, default=10)
    return parser.parse_args()


async def timed(http: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await http.get(path)
    response.raise_for_status()
    if response.json().get("words_total") is None:
        raise RuntimeError(f"no word count: {response.text[:300]}")
    return (time.perf_counter() - started) * 1000


def line(label: str, times: list[float]) -> str:
    p50 = statistics.median(times)
    verdict = "ok" if p50 < TARGET_P50_MS else "OVER TARGET"
    return f"  {label:<44} p50 {p50:7.1f} ms   max {max(times):7.1f} ms   {verdict}"


def client(widen: WidenAdapter) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=widen.base_url, timeout=300,
                             headers={"Authorization": f"Bearer {widen.bearer_token}"})


async def replay(widen: WidenAdapter, args: argparse.Namespace) -> tuple[str, str, YClient]:
    """The trace typed into a new document's one section; the writer stays connected."""
    async with client(widen) as http:
        document_id = (await http.post("/api/documents", json={"title": "Paper"})).json()["id"]
        section = await http.post(f"/api/documents/{document_id}/sections",
                                  json={"title": "Paper"})
    root = f"section:{section.json()['id']}"
    updates, final = segments(args.trace, args.every, root)
    writer = await YClient.open(await widen.connect_url(document_id), Doc())
    await writer.sync(time.monotonic() + 60)
    started = time.perf_counter()
    for update in updates:
        await writer.ws.send(create_update_message(update))
    writer.synced = False
    await writer.sync(time.monotonic() + 600)  # the server has applied every one
    print(f"{len(updates):,} updates ({args.trace.name}, {args.every} transaction(s) each) in "
          f"{time.perf_counter() - started:.1f} s; final text {len(final):,} characters")
    return document_id, root, writer


async def run(widen: WidenAdapter, args: argparse.Namespace) -> None:
    document_id, root, writer = await replay(widen, args)
    path = f"/api/documents/{document_id}/progress"
    async with client(widen) as http:
        # The writer may still be committing the replay's rows: measure the page, not that.
        started = time.perf_counter()
        while (await http.get("/api/health")).json()["pending_writes"]:
            await asyncio.sleep(0.1)
        print(f"  store caught up {time.perf_counter() - started:.1f} s after the replay")
        await timed(http, path)  # the first count of this state
        print(line("loaded (the writer connected)",
                   [await timed(http, path) for _ in range(args.runs)]))
    await writer.close()

    await widen.stop()
    await widen.start()
    async with client(widen) as http:
        cold = await timed(http, path)
        warm = [await timed(http, path) for _ in range(args.runs)]
    print(f"  {'unloaded, first request (rebuilt)':<44} {cold:7.1f} ms")
    print(line("unloaded, then", warm))

    # A state nothing has counted yet, on a fresh process: the worst case, all at once.
    writer = await YClient.open(await widen.connect_url(document_id), Doc())
    await writer.sync(time.monotonic() + 120)
    edit: Doc[Any] = Doc()
    edit.apply_update(writer.doc.get_update())
    paragraph = edit.get(root, type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    text.insert(0, "x")
    await writer.ws.send(create_update_message(edit.get_update(writer.doc.get_state())))
    writer.synced = False
    await writer.sync(time.monotonic() + 120)
    await writer.close()
    await widen.stop()
    await widen.start()
    probe = HealthProbe(widen.base_url)
    probe.start()
    async with client(widen) as http:
        started = time.perf_counter()
        times = await asyncio.gather(*(timed(http, path) for _ in range(args.concurrent)))
        elapsed = time.perf_counter() - started
    print(f"  {args.concurrent} at once on a new state, unloaded: {elapsed:.2f} s, "
          f"each p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms; "
          f"meanwhile {await probe.stop()}")
    await probe.aclose()


async def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="widen-progress-document-bench-") as workdir:
        widen = WidenAdapter(Path(workdir))
        await widen.start()
        try:
            await run(widen, args)
        finally:
            await widen.stop()


if __name__ == "__main__":
    asyncio.run(main())
