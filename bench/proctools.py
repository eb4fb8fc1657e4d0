"""Process plumbing for the benchmarks: ports, child processes, and their CPU and memory.

Servers run as separate processes so that their CPU time can be read from the kernel
(psutil, per process tree) without counting the load generator's work.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Ask the kernel for a free loopback port (it may be taken again before use; rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class CpuSample:
    """Cumulative user+system CPU seconds per pid of a process tree at one instant."""

    per_pid: dict[int, float]

    def seconds_since(self, earlier: CpuSample) -> float:
        """CPU seconds spent between two samples; a pid born in between counts in full."""
        return sum(now - earlier.per_pid.get(pid, 0.0) for pid, now in self.per_pid.items())


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess as exc:
        raise RuntimeError(f"process {pid} has exited (it was being measured)") from exc


def cpu_sample(pids: Sequence[int]) -> CpuSample:
    """Read user+system CPU of every process in the trees rooted at `pids`."""
    per_pid: dict[int, float] = {}
    for pid in pids:
        for proc in _tree(pid):
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue  # exited between listing and reading: its time is gone with it
            per_pid[proc.pid] = times.user + times.system
    return CpuSample(per_pid)


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (every process, the kernel too).

    The difference over the window, minus server and load generator, is what other work on
    the machine took: figures taken on a busy shared machine must say so.
    """
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return sum(times) - idle - guest  # guest time is already counted in user


def process_cpu(pids: Iterable[int]) -> dict[int, float]:
    """User+system CPU seconds of each of these processes alone (not their children), skipping
    those that have exited: for processes the bench does not own, which come and go (a
    database's connection backends)."""
    per_pid: dict[int, float] = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        per_pid[pid] = times.user + times.system
    return per_pid


def rss_bytes(pids: Sequence[int]) -> int:
    """Resident memory of the process trees rooted at `pids` now."""
    total = 0
    for proc in (proc for pid in pids for proc in _tree(pid)):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def peak_rss_bytes(pids: Sequence[int]) -> int:
    """Sum of each process's peak resident memory (Linux VmHWM) over the trees."""
    total = 0
    for proc in (proc for pid in pids for proc in _tree(pid)):
        status = Path(f"/proc/{proc.pid}/status")
        try:
            lines = status.read_text().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


# Which CPUs servers and load generators run on (`taskset -c`), when a run pins them
# (`run.py --pin`): the server's own core, so the load generator's work is not counted as
# the machine's noise in its latency, and the other way round. Empty: unpinned.
PINNING: dict[str, str] = {}


def pinned(role: str, argv: Sequence[str]) -> list[str]:
    """`argv`, run under `taskset` on the CPUs `PINNING` gives `role` (children inherit)."""
    cpus = PINNING.get(role)
    return ["taskset", "-c", cpus, *argv] if cpus else list(argv)


class ManagedProcess:
    """A child process whose output goes to a log file, stopped by its own pid only."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env)
        self.log_path = log_path
        self._proc: asyncio.subprocess.Process | None = None
        self.killed = False  # whether the last stop() had to SIGKILL it

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *pinned("server", self.argv),
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        """Raise with the log tail if the process has already exited."""
        if self._proc is not None and self._proc.returncode is not None:
            raise RuntimeError(
                f"{self.name} exited with {self._proc.returncode}; log tail:\n{self.log_tail()}"
            )

    async def stop(self, grace_s: float = 15.0) -> int:
        """SIGTERM, wait for a graceful exit (servers flush on it), then SIGKILL the tree."""
        if self._proc is None:
            return -1
        if self._proc.returncode is not None:
            return self._proc.returncode
        self.killed = False
        try:
            children = psutil.Process(self._proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []  # it exited on its own and is being reaped: wait() gets its status
        self._proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self._proc.wait(), grace_s)
        except TimeoutError:
            self.killed = True
            for child in children:
                if child.is_running():
                    child.kill()
            self._proc.kill()
            return await self._proc.wait()


async def wait_until(
    predicate_name: str,
    check: Callable[[], Awaitable[bool]],
    *,
    within_s: float,
    interval: float = 0.05,
) -> None:
    """Poll an async `check()` -> bool until true, within a deadline; raise on timeout.

    Used where the thing awaited is another process's state (a port opening), which offers
    no event to await.
    """
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(interval)
    raise TimeoutError(f"{predicate_name}: not true after {within_s:.0f} s")


async def tcp_open(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    try:
        _reader, writer = await asyncio.open_connection(LOOPBACK, port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True
