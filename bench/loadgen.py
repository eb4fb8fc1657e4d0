"""Drive the Node load generator (bench/js/loadgen.mjs) against one running server.

The Python side only orchestrates: it makes rooms and URLs through the adapter, splits whole
rooms across worker processes (so sender and receivers of an edit share a clock), starts
them all at one wall-clock instant, and samples the server's CPU exactly at the edges of the
steady-state window (and that of the services it stands on, Redis and PostgreSQL, when it has
any). The edits themselves never pass through Python.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

import jsdeps
from adapters import ServerAdapter
from backing import Service
from proctools import CpuSample, cpu_sample, machine_busy_seconds, peak_rss_bytes, pinned, rss_bytes

START_LEAD_S = 1.0  # lets the start line reach every worker before t0
WARM_UP_EDITS = 5000  # local edits per worker before connecting, to get V8's JIT done
URL_CONCURRENCY = 16
# How often a service's processes are listed and read in the window: Widen's database pool
# opens and closes connections beyond its five under this load, some living a tenth of a second.
SERVICE_POLL_S = 0.1


@dataclass(frozen=True)
class LoadSpec:
    """The load: rooms x clients, each appending one character at `hz` for `duration` s."""

    rooms: int
    clients: int
    hz: float
    duration: float
    workers: int = 1
    text_name: str = "text"
    deflate: bool = True
    connect_timeout_s: float = 120.0
    drain_timeout_s: float = 30.0


@dataclass
class LoadResult:
    """Everything measured in one run against one server."""

    server: str
    description: str
    spec: LoadSpec
    sent: int = 0
    expected: int = 0
    received: int = 0
    received_in_window: int = 0
    foreign_clocks: int = 0
    drained: bool = True
    drain_ms: float = 0.0
    verified_rooms: int = 0
    failed_rooms: list[dict[str, Any]] = field(default_factory=list)
    unexpected_closes: int = 0
    close_samples: list[dict[str, Any]] = field(default_factory=list)  # room, code, reason
    extensions: list[str] = field(default_factory=list)
    connect_s: float = 0.0
    window_s: float = 0.0
    server_cpu_s: float = 0.0
    # Per service the server stands on (e.g. "Redis", "PostgreSQL"): its CPU in the window, and
    # how many of its processes were seen in the window / started / ended inside it.
    service_cpu_s: dict[str, float] = field(default_factory=dict)
    service_processes: dict[str, int] = field(default_factory=dict)
    service_processes_started: dict[str, int] = field(default_factory=dict)
    service_processes_ended: dict[str, int] = field(default_factory=dict)
    service_remarks: dict[str, str] = field(default_factory=dict)
    service_within: dict[str, str | None] = field(default_factory=dict)  # see backing.Service
    server_events: dict[str, int] = field(default_factory=dict)  # adapter.log_events(), at the end
    loadgen_cpu_s: float = 0.0
    machine_busy_s: float = 0.0
    rss_idle: int = 0
    rss_end: int = 0
    rss_peak: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    schedule_lag_ms: list[float] = field(default_factory=list)
    gc_pause_ms: list[float] = field(default_factory=list)


class _ServiceMeter:
    """A service's CPU over the window, read from its processes every `SERVICE_POLL_S`.

    Its processes may come and go (database connections opened and closed): one seen first
    after the window opened counts in full, one that ends inside the window counts up to its
    last reading, and one that starts and ends between two readings is missed (how many
    started and ended is reported, to judge by).
    """

    def __init__(self, service: Service) -> None:
        self.service = service
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._alive: set[int] = set()

    async def begin(self) -> None:
        self._start = await self.service.cpu()
        self._last = dict(self._start)
        self._alive = set(self._start)

    async def read(self) -> None:
        now = await self.service.cpu()
        self._last.update(now)
        self._alive = set(now)

    async def follow_until(self, epoch: float) -> None:
        """Read every `SERVICE_POLL_S` until the wall-clock instant `epoch`, then once more."""
        while time.time() + SERVICE_POLL_S < epoch:
            await asyncio.sleep(SERVICE_POLL_S)
            await self.read()
        await _sleep_until(epoch)
        await self.read()

    def store(self, result: LoadResult) -> None:
        name = self.service.name
        result.service_cpu_s[name] = CpuSample(self._last).seconds_since(CpuSample(self._start))
        result.service_processes[name] = len(self._last)
        result.service_processes_started[name] = len(set(self._last) - set(self._start))
        result.service_processes_ended[name] = len(set(self._last) - self._alive)
        result.service_remarks[name] = self.service.remark()
        result.service_within[name] = self.service.within


class Worker:
    """One Node load-generator process and its line protocol (`script`: which generator)."""

    def __init__(
        self, index: int, config: dict[str, Any], workdir: Path, script: Path = jsdeps.LOADGEN
    ) -> None:
        self.index = index
        self.script = script
        self.config_path = workdir / f"loadgen-{index}.json"
        self.result_path = workdir / f"loadgen-{index}.result.json"
        self.log_path = workdir / f"loadgen-{index}.log"
        self.config_path.write_text(json.dumps({**config, "resultPath": str(self.result_path)}))
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *pinned("loadgen", [
                    jsdeps.node_binary(),
                    # A larger young generation: fewer scavenges, fewer short-lived yjs
                    # objects promoted into the old generation, so shorter and rarer pauses.
                    "--max-semi-space-size=64",
                    # GC without helper threads: on a busy 2-core machine a parallel scavenge
                    # waits for helpers that are not scheduled (100+ ms pauses were seen).
                    "--single-threaded-gc",
                    str(self.script),
                    str(self.config_path),
                ]),
                cwd=jsdeps.JS_DIR,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        assert self.proc is not None
        return self.proc.returncode

    async def expect(self, event: str, within_s: float) -> dict[str, Any]:
        """Read stdout lines until `event`; an error event or EOF raises."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + within_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"loadgen {self.index}: no {event!r} in {within_s:.0f} s")
            line = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            if not line:
                stderr = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"loadgen {self.index} exited before {event!r}: {stderr}")
            if not line.startswith(b"{"):
                # Not ours (e.g. NODE_OPTIONS=--trace-gc output): keep it in the worker log.
                with self.log_path.open("ab") as log:
                    log.write(line)
                continue
            message = json.loads(line)
            if message.get("event") == "error":
                raise RuntimeError(f"loadgen {self.index}: {message.get('message')}")
            if message.get("event") == event:
                return dict(message)

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    def result(self) -> dict[str, Any]:
        return dict(json.loads(self.result_path.read_text()))

    async def close(self) -> None:
        """Wait for a normal exit; kill only this worker if it lingers."""
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            await asyncio.wait_for(self.proc.wait(), 10.0)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def _urls(adapter: ServerAdapter, rooms: list[str], clients: int) -> list[list[str]]:
    limit = asyncio.Semaphore(URL_CONCURRENCY)

    async def one(room: str, client: int) -> str:
        async with limit:
            return await adapter.connect_url(room, client)

    return [list(await asyncio.gather(*(one(room, i) for i in range(clients)))) for room in rooms]


def _room_config(adapter: ServerAdapter, room: str, urls: list[str]) -> dict[str, Any]:
    """A room for the Node side; `textNames` only if the adapter gives clients their own roots."""
    config: dict[str, Any] = {"name": room, "urls": urls}
    roots = [adapter.client_root(room, i) for i in range(len(urls))]
    if any(root is not None for root in roots):
        config["textNames"] = roots
    return config


async def _sleep_until(epoch: float) -> None:
    """Wait for a wall-clock instant (the window edges are wall-clock, shared with Node)."""
    await asyncio.sleep(max(0.0, epoch - time.time()))


async def run_load(adapter: ServerAdapter, spec: LoadSpec, workdir: Path) -> LoadResult:
    """Run one load against the adapter's (already started) server and measure it."""
    jsdeps.ensure_installed()
    result = LoadResult(server=adapter.name, description=adapter.describe(), spec=spec)
    result.rss_idle = rss_bytes(adapter.pids)
    room_ids = await adapter.create_rooms(spec.rooms)
    # Widen's tickets expire after 60 s: fetch them just before the workers connect.
    urls = await _urls(adapter, room_ids, spec.clients)
    worker_count = max(1, min(spec.workers, spec.rooms))
    workers = []
    for index in range(worker_count):
        mine = range(index, spec.rooms, worker_count)
        config = {
            "rooms": [_room_config(adapter, room_ids[i], urls[i]) for i in mine],
            "hz": spec.hz,
            "duration": spec.duration,
            "textName": spec.text_name,
            "framing": adapter.framing,
            "deflate": spec.deflate,
            "connectTimeoutMs": spec.connect_timeout_s * 1000,
            "connectConcurrency": 32,
            "drainTimeoutMs": spec.drain_timeout_s * 1000,
            "warmUpEdits": WARM_UP_EDITS,
        }
        workers.append(Worker(index, config, workdir))
    try:
        connect_start = time.monotonic()
        for worker in workers:
            await worker.start()
        readies = await asyncio.gather(
            *(w.expect("ready", spec.connect_timeout_s + 10) for w in workers)
        )
        result.connect_s = time.monotonic() - connect_start
        result.extensions = sorted({ext for r in readies for ext in r["extensions"]})

        t0 = time.time() + START_LEAD_S
        t1 = t0 + spec.duration
        for worker in workers:
            await worker.send({"cmd": "start", "t0": t0 * 1000})
        server_pids = adapter.pids
        loadgen_pids = [w.pid for w in workers]
        meters = [_ServiceMeter(service) for service in adapter.services()]
        await _sleep_until(t0)
        server_cpu0, loadgen_cpu0 = cpu_sample(server_pids), cpu_sample(loadgen_pids)
        busy0 = machine_busy_seconds()
        window_start = time.monotonic()
        for meter in meters:
            await meter.begin()
        await asyncio.gather(_sleep_until(t1), *(meter.follow_until(t1) for meter in meters))
        await _check_alive(adapter, workers)
        server_cpu1, loadgen_cpu1 = cpu_sample(server_pids), cpu_sample(loadgen_pids)
        result.machine_busy_s = machine_busy_seconds() - busy0
        result.window_s = time.monotonic() - window_start
        result.server_cpu_s = server_cpu1.seconds_since(server_cpu0)
        result.loadgen_cpu_s = loadgen_cpu1.seconds_since(loadgen_cpu0)
        for meter in meters:
            meter.store(result)
        result.rss_end = rss_bytes(server_pids)
        result.rss_peak = peak_rss_bytes(server_pids)

        await asyncio.gather(*(w.expect("done", spec.drain_timeout_s + 60) for w in workers))
    finally:
        for worker in workers:
            await worker.close()
    for worker in workers:
        _merge(result, worker.result())
    result.server_events = adapter.log_events()
    return result


async def _check_alive(adapter: ServerAdapter, workers: list[Worker]) -> None:
    """Raise the real cause if the server or a worker died during the window.

    Without this, the CPU sampling would fail first with a bare 'no such process'.
    """
    for process in adapter.processes:
        process.check_alive()
    for worker in workers:
        if not psutil.pid_exists(worker.pid) or worker.returncode is not None:
            await worker.expect("done", 10)  # raises with the worker's own error message
            raise RuntimeError(f"loadgen {worker.index} finished before the window ended")


def _merge(result: LoadResult, part: dict[str, Any]) -> None:
    result.sent += part["sent"]
    result.expected += part["expected"]
    result.received += part["received"]
    result.received_in_window += part["receivedInWindow"]
    result.foreign_clocks += part["foreignClocks"]
    result.drained = result.drained and part["drained"]
    result.drain_ms = max(result.drain_ms, part["drainMs"])
    result.verified_rooms += part["verifiedRooms"]
    result.failed_rooms.extend(part["failedRooms"])
    result.unexpected_closes += part["unexpectedCloseCount"]
    result.close_samples.extend(part["unexpectedCloses"])
    result.messages_in += part["messagesIn"]
    result.messages_out += part["messagesOut"]
    result.bytes_in += part["bytesIn"]
    result.bytes_out += part["bytesOut"]
    result.latencies_ms.extend(part["latenciesMs"])
    result.schedule_lag_ms.extend(part["scheduleLagMs"])
    result.gc_pause_ms.extend(part["gcPauseMs"])
