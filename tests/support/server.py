"""A real Widen server in its own process, on a free port, with a database of its own.

Tests kill it with SIGKILL or SIGTERM and start it again on the same database, so it must be a
separate process, not an in-process app. It is forked from a process that has already imported
the app (tests/support/forkserver.py), or, for the tests of what the production image runs,
started with that command (`ImageServerProcess`).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.settings import Settings
from tests.support.forkserver import FORK_SERVER

ROOT = Path(__file__).resolve().parents[2]

# What every test server runs with, whether in its own process or in the test's (the fast
# tier): limits a test is not about are off, and the tests of a limit turn it on (tests
# register many users from one address); argon2 at its production cost is a fifth of a second
# of CPU per sign-up and per sign-in, most of a test's time, so it runs at its cheapest, and
# the tests of what that cost does set it back.
TEST_SETTINGS = {
    "max_messages_per_second": "0",
    "max_connections_per_user": "0",
    "ws_refusals_per_minute": "0",
    # An export or import answers directly however long it takes, on a loaded machine too;
    # the tests of the job path ask for it (0).
    "job_answer_seconds": "60",
    "registrations_per_hour": "0",
    "password_hash_iterations": "1",
    "password_hash_memory_kib": "64",
    # Every load of a progress page is a visit of its own, unless a test says otherwise.
    "progress_visit_gap_seconds": "0",
    # Every edit window records the day's words (tests read the rows right after typing);
    # tests/unit/test_progress_notices.py tests the production throttle.
    "progress_record_seconds": "0",
    # Tests search what was just typed: index it within a second, not the production 5 s.
    "search_index_delay_seconds": "1",
}

# What a production server's passwords cost (the defaults), for the tests of that cost: the
# others run with argon2 at its cheapest.
PRODUCTION_PASSWORD_COST = {
    name: str(Settings.model_fields[name].default)
    for name in ("password_hash_iterations", "password_hash_memory_kib")
}


# Where the kernel picks the local ports of outgoing connections (Linux's default when its
# setting cannot be read).
_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST_PORT = 10_000


def _first_ephemeral_port() -> int:
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A port nothing is bound to, below the range the kernel gives outgoing connections.

    A port from that range (what binding to port 0 returns) can be taken by any client's
    connection between this check and the server's own bind: a test server once failed to
    start so ("address already in use"). Drawn from the OS's randomness, not `random`, which
    some tests seed: two pytest workers must not draw the same ports.
    """
    draw = random.SystemRandom()
    highest = _first_ephemeral_port() - 1
    for _ in range(1000):
        port = draw.randint(_LOWEST_PORT, highest)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {_LOWEST_PORT} and {highest}")


class ServerProcess:
    # What the production image runs (the Dockerfile's CMD, tests/deploy/test_dockerfile.py).
    COMMAND = [sys.executable, "-m", "app"]

    # Forked from the fork server; `ImageServerProcess` runs COMMAND instead.
    own_interpreter = False

    def __init__(self, database_url: str, log_path: Path, **settings: str) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = free_port()
        self.settings = settings
        self._pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._exit_status: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self._pid is not None
        return self._pid

    @property
    def returncode(self) -> int | None:
        """None while the server runs; its exit status once it has ended (e.g. -11: crashed)."""
        if self._pid is None or self._exit_status is not None:
            return self._exit_status
        if self._process is not None:
            self._exit_status = self._process.poll()
        else:
            self._exit_status = FORK_SERVER.poll(self._pid)
        return self._exit_status

    def _signal(self, signum: signal.Signals) -> None:
        """Signal the server if it still runs (a pid is not reused before its status is read,
        so a signal never reaches another process)."""
        if self.returncode is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        """The server's exit status once it has ended; `subprocess.TimeoutExpired` after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (status := self.returncode) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.COMMAND, timeout)
            time.sleep(0.01)
        return status

    def start(self) -> None:
        env = {
            **os.environ,
            "WIDEN_HOST": "127.0.0.1",
            "WIDEN_PORT": str(self.port),
            "WIDEN_DATABASE_URL": self.database_url,
            "WIDEN_LOG_LEVEL": "INFO",
            # Updates the database refuses even in its quarantine table land here, not in the
            # repository's var/.
            "WIDEN_REJECTED_DIR": str(self.log_path.parent / "rejected"),
            **{f"WIDEN_{key.upper()}": value
               for key, value in {**TEST_SETTINGS, **self.settings}.items()},
        }
        self._exit_status = None
        if self.own_interpreter:
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(self.COMMAND, cwd=ROOT, env=env, stdout=log,
                                                 stderr=log)
            self._pid = self._process.pid
        else:
            self._pid = FORK_SERVER.start(env, self.log_path)
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.returncode is not None:
                raise RuntimeError(f"server exited with {self.returncode}:\n"
                                   + self.log_tail())
            try:
                if httpx.get(f"{self.base_url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy:\n" + self.log_tail())

    async def wait_written(self, count: int, timeout: float = 60.0) -> None:
        """Wait until this server has committed `count` updates since it started."""
        async with httpx.AsyncClient(base_url=self.base_url) as http, asyncio.timeout(timeout):
            while (await http.get("/api/health")).json()["updates_written"] < count:
                await asyncio.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to flush anything."""
        self._signal(signal.SIGKILL)
        self.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM: the clean shutdown an orchestrator asks for."""
        self._signal(signal.SIGTERM)
        return self.wait(timeout)

    async def aterminate(self, timeout: float = 30.0) -> int:
        return await asyncio.to_thread(self.terminate, timeout)

    def restart(self) -> None:
        """Start again once the process has ended (`terminate`, `kill`). While it still runs
        a second one cannot bind its port, and the health check would be answered by the old
        one: the "restarted" server would be the old one, and the old one would outlive the
        test."""
        if self._pid is not None and self.returncode is None:
            raise RuntimeError("the server is still running: terminate or kill it first")
        self.start()

    def stop(self) -> None:
        if self._pid is None or self.returncode is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.wait(15)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.wait(5)


class ImageServerProcess(ServerProcess):
    """A server started as the production image starts it: `python -m app` in an interpreter
    of its own (the deployment tests)."""

    own_interpreter = True
