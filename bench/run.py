"""Compare servers of the y-websocket protocol under the same editing load, one at a time.

Usage: .venv/bin/python bench/run.py [--servers widen,yws,hocus,pycrdt] [--rooms 100]
       [--clients 5] [--hz 2] [--duration 30] [--workers 1] [--repeat 1]

Each server gets the same machine to itself in turn: it is started, loaded, measured and
stopped before the next starts. Prints a table per run, then Widen's CPU per delivered
edit and latency as ratios of each reference's (medians when --repeat > 1; without Widen,
Hocuspocus's or pycrdt-websocket's against the others), and, when both ran, Widen on two
processes (widen-2p) against one (widen-pg) on the same PostgreSQL + Redis setup, every client
the owner; widen-2p-users against widen-pg-users is the same with client i of every room
user i, an invited editor. A benchmark,
not a test: it prints figures; it exits non-zero only if a run failed or lost edits.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import cast

import proctools
from adapters import ADAPTERS, SERVER_NAMES, measure_server
from loadgen import LoadResult, LoadSpec, run_load
from report import Figures, cluster_ratio, ratios, summary, summary_json, table, verdict

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers",
        default=",".join(ADAPTERS),
        help=f"comma-separated, of {', '.join(SERVER_NAMES)}",
    )
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--clients", type=int, default=5, help="per room (>= 2)")
    parser.add_argument("--hz", type=float, default=2.0, help="edits per second per client")
    parser.add_argument("--duration", type=float, default=30.0, help="steady-state seconds")
    parser.add_argument("--workers", type=int, default=1, help="load-generator processes")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds over all servers; medians are compared"
    )
    parser.add_argument("--text-name", default="text", help="root Y.Text name to edit")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep server logs, databases and raw loadgen results under bench/results/",
    )
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="do not offer permessage-deflate (browsers do offer it)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run each server on CPU 0 and the load generator on CPU 1 (taskset)",
    )
    args = parser.parse_args(argv)
    if args.clients < 2:
        parser.error("--clients must be at least 2: latency is measured at the other clients")
    for name in args.servers.split(","):
        if name not in SERVER_NAMES:
            parser.error(f"unknown server {name!r}; choose from {', '.join(SERVER_NAMES)}")
    return args


async def measure(name: str, spec: LoadSpec, workdir: Path) -> LoadResult:
    """Start one server, load it, stop it (always), and return its figures."""
    return await measure_server(
        name, workdir, lambda adapter: run_load(adapter, spec, workdir / name))


async def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.pin:
        proctools.PINNING.update(server="0", loadgen="1")
    # Progress lines show up while it runs.
    cast(io.TextIOWrapper, sys.stdout).reconfigure(line_buffering=True)
    spec = LoadSpec(
        rooms=args.rooms,
        clients=args.clients,
        hz=args.hz,
        duration=args.duration,
        workers=args.workers,
        text_name=args.text_name,
        deflate=not args.no_deflate,
    )
    names = args.servers.split(",")
    results: dict[str, list[LoadResult]] = {name: [] for name in names}
    failures: list[str] = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    keep_dir = RESULTS_DIR / f"run-{stamp}" if args.keep else None
    with tempfile.TemporaryDirectory(prefix="widen-bench-") as scratch:
        tmp = keep_dir or Path(scratch)
        # Rounds interleave the servers, so slow drifts of the machine hit each alike.
        for round_no in range(1, args.repeat + 1):
            for name in names:
                title = name if args.repeat == 1 else f"{name} (run {round_no}/{args.repeat})"
                print(f"-- {title}: running", flush=True)
                workdir = tmp / f"round{round_no}"
                try:
                    result = await measure(name, spec, workdir)
                except Exception as exc:  # reported below, and makes the exit status non-zero
                    message = "".join(traceback.format_exception_only(exc)).strip()
                    failures.append(f"{title}: {message}")
                    traceback.print_exc()
                    continue
                results[name].append(result)
                print(table(result, title), flush=True)

    measured = {name: runs for name, runs in results.items() if runs}
    if args.repeat > 1 and measured:
        print(summary(measured))
    figures = {name: Figures.median(runs) for name, runs in measured.items()}
    # Widen against every reference; without Widen, the first other server against the rest.
    subject = next((n for n in ("widen", "hocus", "pycrdt") if n in figures), None)
    references = [n for n in ("yws", "hocus", "pycrdt") if n in figures and n != subject]
    if subject is not None and references:
        print(ratios(subject, figures, references))
    for single, several in (("widen-pg", "widen-2p"), ("widen-pg-users", "widen-2p-users")):
        if {single, several} <= figures.keys():
            print(cluster_ratio(single, several, figures))
    for failure in failures:
        print(f"== run failed: {failure}")

    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"run-{stamp}.json"
    payload = {
        "results": [summary_json(r) for runs in measured.values() for r in runs],
        "failures": failures,
    }
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"(summary written to {out})")
    bad = bool(failures) or any(verdict(r) != "ok" for runs in measured.values() for r in runs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
