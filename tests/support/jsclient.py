"""Drive official Yjs clients (tests/js/yclient.mjs) from pytest.

Our Python CRDT code could share a misreading of the y-websocket protocol with the
server it tests; running the real JavaScript client that browsers use removes that
blind spot. Each ``JsYClient`` owns one ``node`` process speaking JSON lines.
"""

# The public API takes `timeout` arguments by design: each is forwarded to node, which
# enforces it and reports the last observed value, rather than being a bare cancel scope.

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import itertools
import json
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

JS_DIR = Path(__file__).resolve().parent.parent / "js"
YCLIENT = JS_DIR / "yclient.mjs"
_PACKAGE_LOCK = JS_DIR / "package-lock.json"
_NODE_MODULES = JS_DIR / "node_modules"
# npm rewrites this hidden lockfile on every install, so its mtime marks the install.
_INSTALLED_MARKER = _NODE_MODULES / ".package-lock.json"
# y-websocket's own server: the behavioural reference for Widen's /ws endpoint.
# Run as `HOST=127.0.0.1 PORT=N node REFERENCE_SERVER` after ensure_node_modules().
REFERENCE_SERVER = _NODE_MODULES / "y-websocket" / "bin" / "server.js"

_STDERR_TAIL_LINES = 60
# encode_state replies carry a whole document in one line; asyncio's 64 KiB default
# line limit would break on any realistic document.
_LINE_LIMIT = 64 * 1024 * 1024
_CLOSE_GRACE = 5.0

EventPredicate = Callable[[dict[str, Any]], bool]


class JsClientError(RuntimeError):
    """A command failed, timed out, or the node process misbehaved or died."""


def _node_modules_stale() -> bool:
    if not _INSTALLED_MARKER.exists():
        return True
    return _INSTALLED_MARKER.stat().st_mtime < _PACKAGE_LOCK.stat().st_mtime


def ensure_node_modules() -> None:
    """Install the pinned JS deps once so a fresh checkout (or CI) can run JS tests.

    ``npm ci`` installs exactly what package-lock.json pins. The lock file lives in the
    temp dir (not the repo) and serialises concurrent test workers that would otherwise
    race on deleting and recreating node_modules. Scripts are skipped: the only package
    with one is y-websocket's optional LevelDB persistence, which the harness never uses.
    """
    if not _node_modules_stale():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise JsClientError("npm is not on PATH; Node.js 18+ with npm is needed for JS tests")
    key = hashlib.sha256(str(JS_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"widen-jsclient-npm-{key}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _node_modules_stale():
            return
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise JsClientError(
                f"`npm ci` in {JS_DIR} failed with exit code {proc.returncode}:\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        # npm ci may keep an old marker mtime when nothing changed; touch it so the
        # staleness check does not re-run npm for every client.
        _INSTALLED_MARKER.touch()


class JsYClient:
    """One y-websocket ``WebsocketProvider`` in a node process, controlled by a test.

    Replies are matched by id, so waits (``wait_text``) may run concurrently with edits.
    Unsolicited lines (``status``, ``synced``, ``connection-close``, ``connection-error``,
    ``error``) are appended to ``events`` in arrival order.
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        # Ids whose caller timed out; their late replies are expected, not a fault.
        self._abandoned: set[int] = set()
        self._ids = itertools.count(1)
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._events_changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self._fatal: JsClientError | None = None
        self._closing = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    async def start(
        self,
        url: str,
        room: str,
        ticket: str | None = None,
        client_id: int | None = None,
        reconnect: bool = True,
        wait_for_ticket: bool = False,
    ) -> None:
        """Spawn the client; it connects immediately and keeps retrying like a browser.

        ``url`` is the base (``ws://host:port/ws``); y-websocket appends ``/{room}``.
        ``wait_for_ticket``: after a close, stay offline until ``set_ticket`` supplies a
        fresh single-use ticket, instead of retrying ~100 ms later with the spent one.
        """
        if self._proc is not None:
            raise JsClientError("client already started")
        await asyncio.to_thread(ensure_node_modules)
        node = shutil.which("node")
        if node is None:
            raise JsClientError("node is not on PATH; Node.js 18+ is needed for JS tests")
        argv = [node, str(YCLIENT), "--url", url, "--room", room]
        if ticket is not None:
            # One argument, or a ticket starting with "-" would read as an option to node.
            argv.append(f"--ticket={ticket}")
        if client_id is not None:
            argv += ["--client-id", str(client_id)]
        if not reconnect:
            argv.append("--no-reconnect")
        if wait_for_ticket:
            argv.append("--wait-ticket")
        self._proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=JS_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        self._tasks = [
            asyncio.create_task(self._read_stdout(), name=f"jsclient-stdout-{room}"),
            asyncio.create_task(self._read_stderr(), name=f"jsclient-stderr-{room}"),
        ]

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr_tail)

    def _describe(self, message: str) -> str:
        code = self.returncode
        state = "running" if code is None else f"exited with code {code}"
        tail = self.stderr_tail or "(empty)"
        return f"{message} [node {state}; stderr tail:\n{tail}\n]"

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for raw in self._proc.stderr:
            self._stderr_tail.append(raw.decode(errors="replace").rstrip("\n"))

    async def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                self._fail(JsClientError(self._describe(f"non-JSON line on stdout: {line!r}")))
                continue
            if "id" in msg:
                fut = self._pending.pop(msg["id"], None)
                if fut is None and msg["id"] in self._abandoned:
                    self._abandoned.discard(msg["id"])
                elif fut is None:
                    self._fail(JsClientError(self._describe(f"reply to unknown id: {msg!r}")))
                elif not fut.done():
                    fut.set_result(msg)
            else:
                async with self._events_changed:
                    self.events.append(msg)
                    self._events_changed.notify_all()
        await self._proc.wait()
        if not self._closing:
            self._fail(JsClientError(self._describe("node client exited unexpectedly")))
        self._fail_pending(JsClientError(self._describe("node client exited")))
        async with self._events_changed:
            self._events_changed.notify_all()

    def _fail(self, err: JsClientError) -> None:
        """Remember the first fatal harness error and fail whoever is waiting."""
        if self._fatal is None:
            self._fatal = err
        self._fail_pending(err)

    def _fail_pending(self, err: JsClientError) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(err)
        self._pending.clear()

    async def request(self, cmd: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send one command and return its ok:true reply; anything else raises."""
        if self._proc is None or self._proc.stdin is None:
            raise JsClientError("client not started")
        if self._fatal is not None:
            raise self._fatal
        if self._proc.returncode is not None:
            raise JsClientError(self._describe(f"cannot send {cmd.get('cmd')!r}"))
        req_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        payload = json.dumps({**cmd, "id": req_id}) + "\n"
        try:
            self._proc.stdin.write(payload.encode())
            await self._proc.stdin.drain()
            async with asyncio.timeout(timeout):
                reply = await fut
        except TimeoutError:
            self._abandoned.add(req_id)
            raise JsClientError(
                self._describe(f"no reply to {cmd.get('cmd')!r} within {timeout} s")
            ) from None
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise JsClientError(self._describe(f"cannot send {cmd.get('cmd')!r}")) from exc
        finally:
            self._pending.pop(req_id, None)
        if not reply.get("ok"):
            raise JsClientError(self._describe(f"{cmd.get('cmd')!r} failed: {reply.get('error')}"))
        return reply

    async def _wait_request(self, cmd: dict[str, Any], timeout: float) -> dict[str, Any]:
        # The JS side owns the deadline so its error names the last observed value;
        # the Python deadline only guards against a hung process.
        return await self.request({**cmd, "timeout_ms": int(timeout * 1000)}, timeout + 5)

    async def insert(self, text: str, index: int, value: str) -> None:
        await self.request({"cmd": "insert", "text": text, "index": index, "value": value})

    async def delete(self, text: str, index: int, length: int) -> None:
        await self.request({"cmd": "delete", "text": text, "index": index, "length": length})

    async def get_text(self, name: str) -> str:
        reply = await self.request({"cmd": "get_text", "text": name})
        return str(reply["value"])

    async def wait_text(self, name: str, value: str, timeout: float = 10) -> None:
        await self._wait_request({"cmd": "wait_text", "text": name, "value": value}, timeout)

    async def wait_synced(self, timeout: float = 10) -> None:
        await self._wait_request({"cmd": "wait_synced"}, timeout)

    async def state_vector(self) -> bytes:
        reply = await self.request({"cmd": "state_vector"})
        return base64.b64decode(reply["value"])

    async def encode_state(self) -> bytes:
        reply = await self.request({"cmd": "encode_state"})
        return base64.b64decode(reply["value"])

    async def apply_update(self, update: bytes) -> None:
        await self.request({"cmd": "apply_update", "update": base64.b64encode(update).decode()})

    async def set_awareness(self, state: dict[str, Any] | None) -> None:
        await self.request({"cmd": "set_awareness", "state": state})

    async def get_awareness(self) -> dict[int, Any]:
        reply = await self.request({"cmd": "get_awareness"})
        return {int(client): state for client, state in reply["value"].items()}

    async def wait_awareness(
        self, client_id: int, state: dict[str, Any] | None, timeout: float = 10
    ) -> None:
        """Wait until this client sees ``state`` for ``client_id`` (None: until it is gone)."""
        await self._wait_request(
            {"cmd": "wait_awareness", "client_id": client_id, "state": state}, timeout
        )

    async def set_ticket(self, ticket: str) -> None:
        """Supply the ticket for the next (re)connect; tickets are single-use."""
        await self.request({"cmd": "set_ticket", "ticket": ticket})

    async def connect(self) -> None:
        await self.request({"cmd": "connect"})

    async def disconnect(self) -> None:
        await self.request({"cmd": "disconnect"})

    async def status(self) -> dict[str, Any]:
        reply = await self.request({"cmd": "status"})
        reply.pop("id", None)
        reply.pop("ok", None)
        return reply

    async def wait_event(
        self, predicate: EventPredicate, timeout: float = 10, since: int = 0
    ) -> dict[str, Any]:
        """Return the first event at index >= ``since`` matching ``predicate``.

        Pass ``since=len(client.events)`` taken before an action, so an older event
        (say, the first ``connected``) cannot satisfy a wait meant for a later one.
        """
        try:
            async with asyncio.timeout(timeout), self._events_changed:
                while True:
                    for event in self.events[since:]:
                        if predicate(event):
                            return event
                    since = max(since, len(self.events))
                    if self.returncode is not None:
                        raise JsClientError(self._describe("node exited while waiting for event"))
                    await self._events_changed.wait()
        except TimeoutError:
            raise JsClientError(
                self._describe(f"no matching event within {timeout} s; events: {self.events}")
            ) from None

    async def close(self) -> None:
        """Stop the client, killing node if it will not exit within 5 s.

        Raises if the process had already died on its own, so a crash is never
        mistaken for a clean teardown.
        """
        proc = self._proc
        if proc is None:
            return
        crashed_before = proc.returncode is not None and not self._closing
        self._closing = True
        close_error: JsClientError | None = None
        if proc.returncode is None:
            try:
                await self.request({"cmd": "close"}, timeout=_CLOSE_GRACE)
            except JsClientError as exc:
                close_error = exc
            try:
                async with asyncio.timeout(_CLOSE_GRACE):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):  # exited in the meantime
                    proc.kill()
                await proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # already gone
                await proc.stdin.wait_closed()
        for task in self._tasks:
            await task
        if crashed_before:
            raise JsClientError(self._describe("node client had already exited"))
        if close_error is not None:
            raise close_error
