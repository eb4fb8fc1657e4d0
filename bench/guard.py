"""The cost of Widen's write guard: section editors against whole-document editors.

Usage: .venv/bin/python bench/guard.py [--rooms 100] [--clients 5] [--hz 2] [--duration 30]
       [--workers 1] [--repeat 1]

Runs Widen twice under the same load as bench/run.py. In both, client i of every room is user
i, invited into the room and accepted, and appends to the root `section:<id>` of its own
section, so users, grants, tickets and CRDT work are the same. Only the grant differs:
`whole` makes every client a whole-document editor (the guard is skipped), `sections` makes
each an editor of its own section only (the guard checks every update against the probe).
Prints a table per run, the medians, and the ratio sections/whole of CPU per delivered edit,
p50 and p99. Rounds alternate which variant goes first, so slow drifts of a shared machine
hit both alike. Exits non-zero if a run failed, lost edits, or a socket was closed (a 4403
here is a guard rejection of an edit inside the writer's own section: a server bug).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import cast

from adapters import WidenMembersAdapter
from loadgen import LoadResult, LoadSpec, run_load
from report import Figures, others_cpu_s, ratios, summary, summary_json, table, verdict

RESULTS_DIR = Path(__file__).resolve().parent / "results"
VARIANTS = {"whole": False, "sections": True}  # name -> scoped
TARGET_CPU_RATIO = 1.1  # section editors may cost at most this much per delivered edit (issue 11)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--clients", type=int, default=5, help="per room (>= 2)")
    parser.add_argument("--hz", type=float, default=2.0, help="edits per second per client")
    parser.add_argument("--duration", type=float, default=30.0, help="steady-state seconds")
    parser.add_argument("--workers", type=int, default=1, help="load-generator processes")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of both variants; medians are compared"
    )
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
    args = parser.parse_args(argv)
    if args.clients < 2:
        parser.error("--clients must be at least 2: latency is measured at the other clients")
    return args


def rejections_logged(log_path: Path) -> int:
    """How many updates the server's guard refused, from its JSON log."""
    if not log_path.exists():
        return 0
    count = 0
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "ws.write_rejected":
            count += 1
    return count


async def measure(scoped: bool, spec: LoadSpec, workdir: Path) -> tuple[LoadResult, int]:
    """Start Widen with members of one kind, load it, stop it (always); also count refusals."""
    os.makedirs(workdir, exist_ok=True)
    adapter = WidenMembersAdapter(workdir, spec.clients, scoped)
    try:
        setup_start = time.monotonic()
        await adapter.start()
        print(
            f"   {spec.clients} members signed up in {time.monotonic() - setup_start:.1f} s",
            flush=True,
        )
        result = await run_load(adapter, spec, adapter.workdir)
    except Exception:
        if adapter.process is not None:
            status = adapter.process.returncode
            print(f"-- {adapter.name} server (exit status {status}) log tail:", file=sys.stderr)
            print(adapter.process.log_tail(), file=sys.stderr)
        raise
    finally:
        await adapter.stop()
        await adapter.aclose()
    return result, rejections_logged(adapter.workdir / f"{adapter.name}.log")


def run_lines(runs: list[tuple[int, str, LoadResult]]) -> str:
    lines = ["== runs, in order =="]
    lines.append(
        f"  {'round':>5} {'variant':<9} {'CPU us/deliv':>12} {'p50 ms':>8} {'p99 ms':>9} "
        f"{'others cores':>12}  verdict"
    )
    for round_no, variant, result in runs:
        fig = Figures.of(result)
        others = others_cpu_s(result) / (result.window_s or math.nan)
        lines.append(
            f"  {round_no:>5} {variant:<9} {fig.cpu_us:>12.1f} {fig.p50_ms:>8.2f} "
            f"{fig.p99_ms:>9.2f} {others:>12.2f}  {verdict(result)}"
        )
    return "\n".join(lines)


def round_ratios(results: dict[str, list[LoadResult]]) -> str:
    """sections/whole CPU per delivery within each round: the spread says how noisy it was."""
    pairs = zip(results["sections"], results["whole"], strict=False)
    values = [Figures.of(s).cpu_us / Figures.of(w).cpu_us for s, w in pairs]
    if not values:
        return ""
    shown = ", ".join(f"x{v:.2f}" for v in values)
    return f"  per-round CPU/delivery sections/whole: {shown}"


async def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # Progress lines show up while it runs.
    cast(io.TextIOWrapper, sys.stdout).reconfigure(line_buffering=True)
    spec = LoadSpec(
        rooms=args.rooms,
        clients=args.clients,
        hz=args.hz,
        duration=args.duration,
        workers=args.workers,
        deflate=not args.no_deflate,
    )
    results: dict[str, list[LoadResult]] = {name: [] for name in VARIANTS}
    runs: list[tuple[int, str, LoadResult]] = []
    rejected: dict[str, int] = dict.fromkeys(VARIANTS, 0)
    failures: list[str] = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    keep_dir = RESULTS_DIR / f"guard-{stamp}" if args.keep else None
    with tempfile.TemporaryDirectory(prefix="widen-guard-") as scratch:
        tmp = keep_dir or Path(scratch)
        for round_no in range(1, args.repeat + 1):
            order = list(VARIANTS) if round_no % 2 else list(reversed(VARIANTS))
            for name in order:
                title = name if args.repeat == 1 else f"{name} (run {round_no}/{args.repeat})"
                print(f"-- widen, {title}: running", flush=True)
                try:
                    workdir = tmp / f"round{round_no}" / name
                    result, refused = await measure(VARIANTS[name], spec, workdir)
                except Exception as exc:  # reported below, and makes the exit status non-zero
                    message = "".join(traceback.format_exception_only(exc)).strip()
                    failures.append(f"{title}: {message}")
                    traceback.print_exc()
                    continue
                results[name].append(result)
                runs.append((round_no, name, result))
                rejected[name] += refused
                print(table(result, f"widen, {title}"), flush=True)
                print(f"  guard rejections logged by the server: {refused}", flush=True)

    measured = {name: rs for name, rs in results.items() if rs}
    if runs:
        print(run_lines(runs))
    if args.repeat > 1 and measured:
        print(summary(measured))
    if len(measured) == 2:
        figures = {name: Figures.median(rs) for name, rs in measured.items()}
        print(ratios("sections", figures, ["whole"]))
        print(round_ratios(measured))
        cpu_ratio = figures["sections"].cpu_us / figures["whole"].cpu_us
        met = "met" if cpu_ratio <= TARGET_CPU_RATIO else "MISSED"
        print(
            f"  target: section editors at most x{TARGET_CPU_RATIO:.2f} the CPU per delivered "
            f"edit of whole-document editors: x{cpu_ratio:.2f}, {met}"
        )
        others = statistics.median(others_cpu_s(r) / (r.window_s or math.nan) for _, _, r in runs)
        print(f"  other processes took a median {others:.2f} cores during the windows")
    for name, count in rejected.items():
        if count:
            failures.append(f"{name}: the server's guard refused {count} update(s)")
    for failure in failures:
        print(f"== run failed: {failure}")

    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"guard-{stamp}.json"
    payload = {
        "results": [
            {"variant": name, "round": round_no, **summary_json(result)}
            for round_no, name, result in runs
        ],
        "guard_rejections": rejected,
        "failures": failures,
    }
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"(summary written to {out})")
    bad = bool(failures) or any(verdict(r) != "ok" for _, _, r in runs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
