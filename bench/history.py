"""Version history over a long real editing history: time to open a version and to diff one,
and the storage that versions add.

Usage: .venv/bin/python bench/history.py [--every 1000] [--runs 7]
       [--trace ../shared/data/automerge-paper.json.gz]

Starts Widen (SQLite, in a temp dir) and replays the whole trace into one section (one
XmlText inside one paragraph) from one client, naming a version every `--every` transactions
(`POST .../versions`: a checkpoint like any other, so 260 of them for the paper's 259,778
edits, every 32nd stored whole). Then, through the API, as the browser would:
- open: `GET .../versions/{id}` of the newest version, one in the middle of the history, and
  the last one before a whole state (the most updates to apply);
- diff: `GET .../versions/{id}/diff` of the same versions against the final text (the first
  one in the middle of the history: half the paper differs);
each `--runs` times, reporting the median (p50) and the worst. Storage: the bytes of every
version row (and section archive) against the document's own encoded state, read from the
database file. Prints figures; a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Doc, XmlElement, XmlFragment, XmlText, create_update_message

from adapters import REPO_DIR, WidenAdapter
from ywire import YClient

DEFAULT_TRACE = REPO_DIR.parent / "shared" / "data" / "automerge-paper.json.gz"
TARGET_MS = 200.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--every", type=int, default=1000, help="transactions per version")
    parser.add_argument("--runs", type=int, default=7, help="timings per figure")
    return parser.parse_args()


def segments(trace: Path, every: int, root: str) -> tuple[list[bytes], str]:
    """The trace as one update per `every` transactions (the first also makes the
    paragraph), and its final text."""
    with gzip.open(trace, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    doc: Doc[Any] = Doc()
    fragment = doc.get(root, type=XmlFragment)
    updates: list[bytes] = []
    with doc.transaction():
        fragment.children.append(XmlElement("paragraph", {}, [XmlText()]))
    paragraph = fragment.children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    txns = data["txns"]
    for start in range(0, len(txns), every):
        before = doc.get_state()
        with doc.transaction():
            for txn in txns[start:start + every]:
                for position, delete_count, insert in txn["patches"]:
                    if delete_count:
                        del text[position:position + delete_count]
                    if insert:
                        text.insert(position, insert)
        updates.append(doc.get_update(before if start else b"\x00"))
    if str(text) != data["endContent"]:
        raise RuntimeError("the replay does not reproduce endContent")
    return updates, str(text)


async def timed(http: httpx.AsyncClient, path: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def line(label: str, times: list[float]) -> str:
    p50 = statistics.median(times)
    verdict = "ok" if p50 < TARGET_MS else "OVER TARGET"
    return f"  {label:<52} p50 {p50:7.1f} ms   max {max(times):7.1f} ms   {verdict}"


async def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="widen-history-bench-") as workdir:
        widen = WidenAdapter(Path(workdir))
        await widen.start()
        try:
            await run(widen, args)
        finally:
            await widen.stop()


async def run(widen: WidenAdapter, args: argparse.Namespace) -> None:
    http = httpx.AsyncClient(base_url=widen.base_url, timeout=120,
                             headers={"Authorization": f"Bearer {widen.bearer_token}"})
    document_id = (await http.post("/api/documents", json={"title": "Paper"})).json()["id"]
    section = await http.post(f"/api/documents/{document_id}/sections", json={"title": "Paper"})
    root = f"section:{section.json()['id']}"
    updates, final = segments(args.trace, args.every, root)
    writer = await YClient.open(await widen.connect_url(document_id), Doc())
    await writer.sync(time.monotonic() + 60)
    started = time.perf_counter()
    versions: list[str] = []
    for index, update in enumerate(updates):
        await writer.ws.send(create_update_message(update))
        writer.synced = False
        await writer.sync(time.monotonic() + 120)  # the server has applied it
        named = await http.post(f"/api/documents/{document_id}/versions",
                                json={"name": f"after {min((index + 1) * args.every, 259_778)}"})
        named.raise_for_status()
        versions.append(named.json()["id"])
    replay_s = time.perf_counter() - started
    await writer.close()
    print(f"{len(versions)} versions over {args.trace.name} in {replay_s:.1f} s; "
          f"final text {len(final):,} characters")

    newest = versions[-1]
    middle = versions[len(versions) // 2]
    base = f"/api/documents/{document_id}/versions"
    opened = (await http.get(f"{base}/{middle}")).json()
    assert len(opened["sections"][0]["text"]) > 0
    print("open a version (GET .../versions/{id}, worker pool included):")
    slowest = chain_end(widen.db_path)
    for label, vid in (("newest", newest), ("middle of the history", middle),
                       ("last before a whole one (the most rows to apply)", slowest)):
        print(line(label, await timed(http, f"{base}/{vid}", args.runs)))
    print("diff with the current text (GET .../versions/{id}/diff):")
    for label, vid in (("newest (no change)", newest), ("middle (half the paper differs)",
                                                        middle),
                       ("last before a whole one", slowest), ("first", versions[0])):
        print(line(label, await timed(http, f"{base}/{vid}/diff", args.runs)))
    await http.aclose()
    storage(widen.db_path, final_state(updates))


def chain_end(db_path: Path) -> str:
    """The version with the longest run of updates since a whole one."""
    with sqlite3.connect(db_path) as db:
        return str(db.execute("SELECT id FROM document_versions ORDER BY chain_rows DESC, "
                              "number LIMIT 1").fetchone()[0])


def final_state(updates: list[bytes]) -> int:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return len(doc.get_update())


def storage(db_path: Path, own: int) -> None:
    with sqlite3.connect(db_path) as db:
        versions, rows, whole = db.execute(
            "SELECT COALESCE(SUM(LENGTH(data)), 0), COUNT(*), SUM(full) "
            "FROM document_versions").fetchone()
        state_vectors = db.execute(
            "SELECT COALESCE(SUM(LENGTH(state_vector)), 0) "
            "+ COALESCE(SUM(LENGTH(delete_set)), 0) FROM document_versions").fetchone()[0]
        archives = db.execute(
            "SELECT COALESCE(SUM(LENGTH(content)), 0) FROM section_archives").fetchone()[0]
    total = versions + state_vectors + archives
    print(f"storage: {rows} versions ({whole} whole) hold {total:,} bytes "
          f"(updates {versions:,}, state and delete sets {state_vectors:,}, "
          f"archives {archives:,}); "
          f"the document's own encoded state is {own:,} bytes: {total / own:.2f}x "
          f"({'ok' if total < 2 * own else 'OVER TARGET'}, target < 2x)")


if __name__ == "__main__":
    asyncio.run(main())
