"""Reconnect storm: every client of many documents connects at one instant, as after a restart.

Usage: .venv/bin/python bench/storm.py [--servers widen,yws] [--docs 2000] [--clients 10000]
       [--workers 4] [--deadline 300]

Per server, in turn: start it, make the documents and write one short text into each (not
timed; Widen is then restarted, so the storm loads every document from its database), then
start the client processes (bench/js/storm.mjs) and let every client connect at one instant
t0. A client retries 1013 try-later and network failures with exponential backoff
(100 ms doubling to 5 s, jitter), and is synced once it received sync step 2 and holds its
document's text. Prints, per server: time from t0 until all clients synced, p50/p99 of the
clients' time to sync, refusals by close code, sheds (1013) and retries, the server's peak RSS
and CPU per client over the storm, and the clients' own CPU (if it nears the cores the
machine has, the generator, not the server, is the bottleneck). A benchmark, not a test: it
exits non-zero only if a run failed or some client never synced or was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import jsdeps
from adapters import ADAPTERS, ServerAdapter, WidenAdapter, measure_server
from loadgen import Worker
from proctools import cpu_sample, machine_busy_seconds, peak_rss_bytes, rss_bytes

RESULTS_DIR = Path(__file__).resolve().parent / "results"
STORM_JS = jsdeps.JS_DIR / "storm.mjs"
START_LEAD_S = 2.0  # lets the start line reach every worker before t0
SEED_CONCURRENCY = 32
SEED_TIMEOUT_S = 600.0
BACKOFF_START_MS = 100
BACKOFF_CAP_MS = 5000
MB = 1024 * 1024


@dataclass(frozen=True)
class StormSpec:
    docs: int
    clients: int
    workers: int
    deadline_s: float
    text_name: str
    deflate: bool


@dataclass
class StormResult:
    server: str
    description: str
    auth: str
    clients: int = 0
    synced: int = 0
    all_synced_s: float = 0.0
    sync_p50_ms: float = 0.0
    sync_p99_ms: float = 0.0
    attempts: int = 0
    shed: int = 0
    network_errors: int = 0
    retries: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    closed_after_sync: dict[str, int] = field(default_factory=dict)
    gave_up: int = 0
    error_samples: list[dict[str, Any]] = field(default_factory=list)
    seed_s: float = 0.0
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    rss_peak_mb: float = 0.0
    server_cpu_s: float = 0.0
    loadgen_cpu_s: float = 0.0
    machine_busy_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.synced == self.clients and not self.refusals


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="widen,yws", help="comma-separated")
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=10000, help="in all, spread evenly")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--deadline", type=float, default=300.0, help="s after t0 to give up")
    parser.add_argument("--text-name", default="text", help="root Y.Text name")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    parser.add_argument("--keep", action="store_true", help="keep logs under bench/results/")
    args = parser.parse_args(argv)
    for name in args.servers.split(","):
        if name not in ADAPTERS:
            parser.error(f"unknown server {name!r}; choose from {', '.join(ADAPTERS)}")
    if args.clients < args.docs:
        parser.error("--clients must be at least --docs")
    return args


def raise_open_files_limit() -> int:
    """Soft open-files limit up to the hard one: the server and client processes inherit it,
    and each holds one descriptor per socket."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def endpoints(
    adapter: ServerAdapter, rooms: list[str]
) -> tuple[list[str], dict[str, str], str]:
    """Each room's websocket URL, the headers every client sends, and how they authenticate.

    Widen's tickets are single-use and live 60 s: a client that is shed and retries needs a
    new one, and a storm can outlast them. So Widen's clients use the bench user's session
    cookie, as the browser app's sockets do (with the app's own Origin), which any number of
    sockets and retries may share; the per-user connection cap is off (the adapter's setting).
    """
    if isinstance(adapter, WidenAdapter):
        urls = [f"ws://127.0.0.1:{adapter.port}/ws/{room}" for room in rooms]
        headers = {"Cookie": f"widen_session={adapter.bearer_token}", "Origin": adapter.base_url}
        return urls, headers, "session cookie of one user (no tickets), per-user cap off"
    if adapter.framing != "y-websocket":
        raise ValueError(f"{adapter.name}: storm.mjs speaks y-websocket framing only")
    urls = [await adapter.connect_url(room) for room in rooms]
    return urls, {}, "none (server has no auth)"


def doc_text(index: int) -> str:
    return f"document {index}: seeded before the storm"


async def seed(
    rooms: list[str], urls: list[str], headers: dict[str, str], spec: StormSpec, workdir: Path
) -> None:
    config = {
        "mode": "seed",
        "clients": [
            {"room": r, "url": u, "text": doc_text(i)}
            for i, (r, u) in enumerate(zip(rooms, urls, strict=True))
        ],
        "headers": headers,
        "textName": spec.text_name,
        "deflate": spec.deflate,
        "seedConcurrency": SEED_CONCURRENCY,
    }
    seed_dir = workdir / "seed"
    seed_dir.mkdir(parents=True, exist_ok=True)
    worker = Worker(0, config, seed_dir, STORM_JS)
    try:
        await worker.start()
        await worker.expect("done", SEED_TIMEOUT_S)
    finally:
        await worker.close()


async def measure(name: str, spec: StormSpec, workdir: Path) -> StormResult:
    """Start one server, seed it, storm it, stop it (always), and return its figures."""
    return await measure_server(
        name, workdir, lambda adapter: storm(adapter, spec, workdir / name))


async def storm(adapter: ServerAdapter, spec: StormSpec, workdir: Path) -> StormResult:
    rooms = await adapter.create_rooms(spec.docs)
    urls, headers, auth = await endpoints(adapter, rooms)
    result = StormResult(server=adapter.name, description=adapter.describe(), auth=auth)
    seed_start = time.monotonic()
    await seed(rooms, urls, headers, spec, workdir)
    result.seed_s = time.monotonic() - seed_start
    if isinstance(adapter, WidenAdapter):
        # As after a restart: every document is loaded from the database by the storm itself
        # (Widen unloads idle rooms after WIDEN_ROOM_IDLE_SECONDS anyway, but some would still
        # be loaded at t0). A new process, a new port and a new login: new URLs and cookie.
        await adapter.stop()
        await adapter.start()
        urls, headers, auth = await endpoints(adapter, rooms)
        result.auth = f"{auth}; restarted after seeding"
    result.rss_before_mb = rss_bytes(adapter.pids) / MB

    storm_dir = workdir / "storm"
    storm_dir.mkdir(parents=True, exist_ok=True)
    # Client j opens document j mod docs; clients are dealt to workers round-robin.
    per_worker: list[list[dict[str, str]]] = [[] for _ in range(spec.workers)]
    for j in range(spec.clients):
        d = j % spec.docs
        per_worker[j % spec.workers].append({"room": rooms[d], "url": urls[d], "text": doc_text(d)})
    workers = [
        Worker(i, {
            "mode": "storm",
            "clients": mine,
            "headers": headers,
            "textName": spec.text_name,
            "deflate": spec.deflate,
            "deadlineMs": spec.deadline_s * 1000,
            "backoffStartMs": BACKOFF_START_MS,
            "backoffCapMs": BACKOFF_CAP_MS,
        }, storm_dir, STORM_JS)
        for i, mine in enumerate(per_worker)
    ]
    try:
        for worker in workers:
            await worker.start()
        await asyncio.gather(*(w.expect("ready", 60) for w in workers))
        t0 = time.time() + START_LEAD_S
        for worker in workers:
            await worker.send({"cmd": "start", "t0": t0 * 1000})
        await asyncio.sleep(max(0.0, t0 - time.time()))
        server_pids, loadgen_pids = adapter.pids, [w.pid for w in workers]
        server0, loadgen0 = cpu_sample(server_pids), cpu_sample(loadgen_pids)
        busy0 = machine_busy_seconds()
        synced = await asyncio.gather(
            *(w.expect("synced", spec.deadline_s + 60) for w in workers)
        )
        server1, loadgen1 = cpu_sample(server_pids), cpu_sample(loadgen_pids)
        result.machine_busy_s = machine_busy_seconds() - busy0
        result.server_cpu_s = server1.seconds_since(server0)
        result.loadgen_cpu_s = loadgen1.seconds_since(loadgen0)
        result.rss_after_mb = rss_bytes(adapter.pids) / MB
        result.rss_peak_mb = peak_rss_bytes(adapter.pids) / MB
        result.all_synced_s = max(s["lastSyncEpochMs"] for s in synced) / 1000 - t0
        for worker in workers:
            await worker.send({"cmd": "close"})
        await asyncio.gather(*(w.expect("done", 120) for w in workers))
    finally:
        for worker in workers:
            await worker.close()
    sync_ms: list[float] = []
    for worker in workers:
        part = worker.result()
        _merge(result, part)
        sync_ms.extend(part["syncMs"])
    if len(sync_ms) >= 2:
        cuts = statistics.quantiles(sync_ms, n=100, method="inclusive")
        result.sync_p50_ms, result.sync_p99_ms = cuts[49], cuts[98]
    return result


def _merge(result: StormResult, part: dict[str, Any]) -> None:
    result.clients += part["clients"]
    result.synced += part["synced"]
    result.attempts += part["attempts"]
    result.shed += part["shed"]
    result.network_errors += part["networkErrors"]
    result.retries += part["retries"]
    result.gave_up += part["gaveUp"]
    for code, n in part["refusals"].items():
        result.refusals[code] = result.refusals.get(code, 0) + n
    for code, n in part["closedAfterSync"].items():
        result.closed_after_sync[code] = result.closed_after_sync.get(code, 0) + n
    result.error_samples.extend(part["errorSamples"][: 10 - len(result.error_samples)])


def table(r: StormResult, spec: StormSpec) -> str:
    per_client = r.server_cpu_s * 1000 / max(r.clients, 1)
    others = max(0.0, r.machine_busy_s - r.server_cpu_s - r.loadgen_cpu_s)
    window = max(r.all_synced_s, 1e-9)
    lines = [
        f"== {r.server}: {r.description}",
        f"   {spec.clients} clients on {spec.docs} documents, {spec.workers} client processes;"
        f" auth: {r.auth}",
        f"   synced                 {r.synced}/{r.clients}"
        f" (never synced: {r.clients - r.synced}, gave up: {r.gave_up})",
        f"   time until all synced  {r.all_synced_s:.1f} s"
        f" (per client p50 {r.sync_p50_ms / 1000:.2f} s, p99 {r.sync_p99_ms / 1000:.2f} s)",
        f"   refusals by code       {r.refusals or 'none'}",
        f"   1013 sheds             {r.shed}; network errors {r.network_errors};"
        f" retries {r.retries}; attempts {r.attempts}",
        f"   closed after sync      {r.closed_after_sync or 'none'}",
        f"   server RSS             before {r.rss_before_mb:.0f} MB, after {r.rss_after_mb:.0f} MB,"
        f" peak {r.rss_peak_mb:.0f} MB",
        f"   server CPU             {r.server_cpu_s:.1f} s = {per_client:.2f} ms per client",
        f"   clients' CPU           {r.loadgen_cpu_s:.1f} s"
        f" ({r.loadgen_cpu_s / window:.2f} cores over the storm)",
        f"   other work on machine  {others:.1f} CPU s ({others / window:.2f} cores)",
        f"   seeding (not timed)    {r.seed_s:.1f} s",
    ]
    if r.error_samples:
        lines.append(f"   samples                {r.error_samples[:3]}")
    return "\n".join(lines)


def ratios(results: dict[str, StormResult]) -> str:
    """Widen's figures as multiples of y-websocket's (the issue's targets are put that way)."""
    w, y = results["widen"], results["yws"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b > 0 else "n/a"

    return "\n".join([
        "== widen / yws",
        f"   time until all synced  {ratio(w.all_synced_s, y.all_synced_s)}",
        f"   p99 time to sync       {ratio(w.sync_p99_ms, y.sync_p99_ms)}",
        f"   peak RSS               {ratio(w.rss_peak_mb, y.rss_peak_mb)}",
        f"   CPU per client         {ratio(w.server_cpu_s, y.server_cpu_s)}",
    ])


async def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cast(io.TextIOWrapper, sys.stdout).reconfigure(line_buffering=True)
    limit = raise_open_files_limit()
    if limit < args.clients + 1000:
        print(f"warning: open files limit {limit} is below {args.clients} sockets", flush=True)
    jsdeps.ensure_installed()
    spec = StormSpec(
        docs=args.docs,
        clients=args.clients,
        workers=max(1, args.workers),
        deadline_s=args.deadline,
        text_name=args.text_name,
        deflate=not args.no_deflate,
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results: dict[str, StormResult] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="widen-storm-") as scratch:
        workdir = RESULTS_DIR / f"storm-{stamp}" if args.keep else Path(scratch)
        for name in args.servers.split(","):
            print(f"-- {name}: running", flush=True)
            try:
                results[name] = await measure(name, spec, workdir)
            except Exception as exc:  # reported below, and makes the exit status non-zero
                failures.append(f"{name}: {''.join(traceback.format_exception_only(exc)).strip()}")
                traceback.print_exc()
                continue
            print(table(results[name], spec), flush=True)
    if "widen" in results and "yws" in results:
        print(ratios(results))
    for failure in failures:
        print(f"== run failed: {failure}")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"storm-{stamp}.json"
    payload = {
        "spec": asdict(spec),
        "results": [asdict(r) for r in results.values()],
        "failures": failures,
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"(summary written to {out})")
    return 1 if failures or any(not r.ok for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
