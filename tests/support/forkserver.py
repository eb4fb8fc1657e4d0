"""Start test servers by forking a process that has already imported the app.

`python -m app` spends most of a test server's start (about 2.8 s of 3.3 s here) importing
FastAPI, SQLAlchemy, pydantic and the app's own models and schemas, and the suite starts
servers by the hundred. So each pytest process keeps one *fork server*: a child that imports
`app.__main__` once, then, for each server asked of it, forks, and the fork runs
`app.__main__.main()` with the server's environment and log, which is what `python -m app`
runs. The server is still a process of its own, with its own pid, killed with real signals and
ending with a real exit status (the crash tests read -11), on the same code; only the import
is shared, copy-on-write.

What differs from `python -m app`, and is tested elsewhere: the interpreter's start-up and the
module search of `-m` (the deployment tests, `tests/deploy/`, run the real command).

The fork server answers requests, one JSON line each, on its stdin and stdout:
`{"start": {"env": {...}, "log": path, "cwd": path}}` -> `{"pid": n}`;
`{"poll": pid}` -> `{"code": null or exit status}` (`{"unknown": pid}` for a pid it never
started). A server's exit status is collected only
when it is polled, so its pid cannot be reused while the test may still signal it. When its
pytest process ends (stdin closes), the fork server kills the servers still running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class ForkServer:
    """The pytest side: one fork server per pytest process, shared by its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.support.forkserver"], cwd=ROOT,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                )
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            answer = self._process.stdout.readline()
            if not answer:
                raise RuntimeError(f"the fork server ended ({self._process.wait()})")
            reply: dict[str, Any] = json.loads(answer)
            return reply

    def start(self, env: dict[str, str], log_path: Path) -> int:
        pid: int = self._ask({"start": {"env": env, "log": str(log_path), "cwd": str(ROOT)}})[
            "pid"]
        return pid

    def poll(self, pid: int) -> int | None:
        reply = self._ask({"poll": pid})
        if "unknown" in reply:
            # Started by a fork server that has since ended (and a new one asked): whatever
            # became of that server, no status can be read, and its pid may be another's.
            raise RuntimeError(f"server {pid} is not this fork server's")
        code: int | None = reply["code"]
        return code


FORK_SERVER = ForkServer()


def _run_server(env: dict[str, str], log: str, cwd: str) -> None:
    """In the fork: become `python -m app` with this environment, writing to `log`."""
    code = 1
    try:
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.close(nothing)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        import app.__main__ as entry

        # As under `python -m app`: the export workers ("spawn") import the main module again.
        sys.modules["__main__"] = entry
        sys.argv = [entry.__file__ or "app"]
        entry.main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve() -> None:
    import app.__main__  # noqa: F401  (the import every fork shares)

    children: set[int] = set()
    ended: dict[int, int] = {}
    try:
        for line in sys.stdin:
            request = json.loads(line)
            if "start" in request:
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _run_server(**request["start"])
                children.add(pid)
                reply: dict[str, Any] = {"pid": pid}
            else:
                pid = request["poll"]
                if pid in children:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        children.discard(pid)
                        ended[pid] = os.waitstatus_to_exitcode(status)
                reply = ({"code": ended.get(pid)} if pid in children or pid in ended
                         else {"unknown": pid})
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue


if __name__ == "__main__":
    _serve()
