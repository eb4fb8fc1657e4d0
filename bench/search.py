"""Search latency over many documents holding the automerge-paper text.

Usage: .venv/bin/python bench/search.py [--documents 1000] [--queries 300]
       [--trace ../shared/data/automerge-paper.json.gz] [--keep]

Starts Widen (SQLite, in a temp dir), creates the documents through the API, one section each,
and writes the trace's final text into every section over the websocket, as one paragraph (the
text, not its 259,778-step history: search reads only the result). It waits until the server's
indexer has indexed them all (`/api/health`: `search_pending`, `search_indexed`), then times
`GET /api/search` from one client, one request at a time, over words drawn from the paper:
rare ones (in the paper once or twice), common ones, two-word queries, and a word in no
document. Every document holds the same text, so every word present matches every document:
the ranking's worst case. Prints p50/p99 per kind of query and over all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Doc, XmlElement, XmlFragment, XmlText, create_update_message
from websockets.asyncio.client import connect

from adapters import REPO_DIR, WidenAdapter
from ywire import MAX_MESSAGE_BYTES, YClient

DEFAULT_TRACE = REPO_DIR.parent / "shared" / "data" / "automerge-paper.json.gz"
UPLOAD_CONCURRENCY = 2
# The server indexes while documents arrive: on a busy machine a handshake may wait a while.
OPEN_TIMEOUT_S = 120.0
INDEX_WITHIN_S = 1800.0
WARM_UP_QUERIES = 20
TARGET_P50_MS = 50.0


def final_text(trace_path: Path) -> str:
    with gzip.open(trace_path, "rt", encoding="utf-8") as handle:
        return str(json.load(handle)["endContent"])


def section_update(section_id: str, text: str) -> bytes:
    """The section's content as one update: one paragraph holding the whole text."""
    doc: Doc[Any] = Doc()
    doc.get(f"section:{section_id}", type=XmlFragment).children.append(
        XmlElement("paragraph", contents=[XmlText(text)]))
    return doc.get_update()


async def upload(widen: WidenAdapter, http: httpx.AsyncClient, index: int, text: str) -> None:
    created = await http.post("/api/documents", json={"title": f"Paper copy {index}"})
    created.raise_for_status()
    document_id = created.json()["id"]
    section = await http.post(f"/api/documents/{document_id}/sections",
                              json={"title": "Paper"})
    section.raise_for_status()
    ws = await connect(await widen.connect_url(document_id), max_size=MAX_MESSAGE_BYTES,
                       open_timeout=OPEN_TIMEOUT_S)
    client = YClient(ws, Doc())
    try:
        await client.sync(time.monotonic() + 60)
        await client.ws.send(create_update_message(section_update(section.json()["id"], text)))
    finally:
        await client.close()


async def wait_indexed(http: httpx.AsyncClient, documents: int) -> float:
    started = time.perf_counter()
    deadline = time.monotonic() + INDEX_WITHIN_S
    while True:
        health = (await http.get("/api/health")).json()
        if health["search_indexed"] >= documents and health["search_pending"] == 0:
            return time.perf_counter() - started
        if time.monotonic() > deadline:
            raise RuntimeError(f"not indexed within {INDEX_WITHIN_S:.0f} s: {health}")
        await asyncio.sleep(0.5)


def query_mix(text: str, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, query) pairs: rare and common words of the text, pairs, and an absent word."""
    counts = Counter(word.lower() for word in re.findall(r"[^\W_\d]{3,}", text))
    rare = sorted(w for w, n in counts.items() if n <= 2)
    common = [w for w, _n in counts.most_common(40)]
    mid = sorted(w for w, n in counts.items() if 5 <= n <= 50)
    kinds: list[tuple[str, Callable[[], str]]] = [
        ("rare word", lambda: rng.choice(rare)),
        ("common word", lambda: rng.choice(common)),
        ("two words", lambda: f"{rng.choice(mid)} {rng.choice(mid)}"),
        ("absent word", lambda: f"zq{rng.randrange(10**6)}x"),
    ]
    return [(kind, make()) for kind, make in (kinds[i % len(kinds)] for i in range(count))]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(http: httpx.AsyncClient, queries: list[tuple[str, str]],
                  documents: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for index, (kind, query) in enumerate(queries):
        started = time.perf_counter()
        response = await http.get("/api/search", params={"q": query, "limit": 20})
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        hits = response.json()
        expected = 0 if kind == "absent word" else min(20, documents)
        if len(hits) != expected:
            raise RuntimeError(f"{query!r}: {len(hits)} results, expected {expected}")
        if index >= WARM_UP_QUERIES:
            times.setdefault(kind, []).append(elapsed_ms)
    return times


def report(times: dict[str, list[float]]) -> None:
    every = [t for values in times.values() for t in values]
    print(f"  {'queries':<14}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for kind, values in [*times.items(), ("all", every)]:
        print(f"  {kind:<14}{len(values):>6}{percentile(values, 0.5):>10.1f}"
              f"{percentile(values, 0.99):>10.1f}{max(values):>10.1f}")
    p50 = statistics.median(every)
    verdict = "meets" if p50 < TARGET_P50_MS else "misses"
    print(f"  p50 {p50:.1f} ms {verdict} the target of {TARGET_P50_MS:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database and server log")
    args = parser.parse_args()
    text = final_text(args.trace)
    workdir = Path(tempfile.mkdtemp(prefix="widen-search-bench-"))
    widen = WidenAdapter(workdir)
    await widen.start()
    try:
        headers = {"Authorization": f"Bearer {widen.bearer_token}"}
        async with httpx.AsyncClient(base_url=widen.base_url, headers=headers,
                                     timeout=60) as http:
            started = time.perf_counter()
            slots = asyncio.Semaphore(UPLOAD_CONCURRENCY)

            async def one(index: int) -> None:
                async with slots:
                    await upload(widen, http, index, text)

            await asyncio.gather(*(one(i) for i in range(args.documents)))
            print(f"search over {args.documents} documents of {args.trace.name} "
                  f"({len(text):,} characters each)")
            print(f"  written in              {time.perf_counter() - started:.1f} s")
            print(f"  indexed within a further {await wait_indexed(http, args.documents):.1f} s")
            print(f"  database                {widen.db_path.stat().st_size / 2**20:,.0f} MiB")
            queries = query_mix(text, args.queries + WARM_UP_QUERIES, random.Random(args.seed))
            report(await measure(http, queries, args.documents))
    finally:
        await widen.stop()
        await widen.aclose()
        if args.keep:
            print(f"  kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
