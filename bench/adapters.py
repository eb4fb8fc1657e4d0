"""One adapter per kind of server, so the harness drives them all the same way.

An adapter starts its server on a free loopback port, makes rooms, and hands out one
websocket URL per connection (Widen needs a fresh single-use ticket for each). The harness
reads the server's CPU and memory through `pids`, the roots of the server's process trees (one,
unless the server runs as several processes), and the CPU of what the server stands on
(Redis, PostgreSQL) through `services`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

import jsdeps
from backing import PostgresDatabase, RedisServer, Service
from proctools import LOOPBACK, ManagedProcess, free_port, tcp_open, wait_until

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
START_TIMEOUT_S = 60.0


def repo_python() -> str:
    """The project's venv interpreter if present (the servers need its packages)."""
    venv_python = REPO_DIR / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable



def by_link(invitation: dict[str, Any]) -> dict[str, str]:
    """The body that accepts an invitation as its link does: the secret at the link's end
    (only who proves the invited address may accept, and these accounts prove none)."""
    return {"token": str(invitation["link"]).rsplit("/", 1)[1]}

class ServerAdapter(ABC):
    """Start/stop a server and give out room names and connection URLs."""

    name: str
    stop_grace_s = 15.0  # after SIGTERM, before SIGKILL
    # How the load generator frames messages (bench/js/loadgen.mjs): "y-websocket" sends bare
    # y-protocols messages; "hocuspocus" prefixes the document name and authenticates first.
    framing = "y-websocket"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = 0
        self.process: ManagedProcess | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def processes(self) -> list[ManagedProcess]:
        """Every process the server runs as, once started."""
        return [] if self.process is None else [self.process]

    @property
    def pids(self) -> list[int]:
        """Roots of the server's process trees: its CPU and memory are summed over them."""
        if not self.processes:
            raise RuntimeError(f"{self.name} is not started")
        return [process.pid for process in self.processes]

    def services(self) -> list[Service]:
        """What the server stands on and does work in for each edit, outside its own
        processes: their CPU is reported beside the server's. None for a server alone."""
        return []

    def log_events(self) -> dict[str, int]:
        """How often the server logged events that explain its figures, so far this run."""
        return {}

    @abstractmethod
    def describe(self) -> str:
        """What exactly runs (versions), for the report."""

    @abstractmethod
    async def start(self) -> None:
        """Start the server and return once it accepts connections."""

    async def stop(self) -> int:
        """Stop the server gracefully (a persisting server flushes on SIGTERM)."""
        if self.process is None:
            return -1
        return await self.process.stop(self.stop_grace_s)

    @abstractmethod
    async def create_rooms(self, count: int) -> list[str]:
        """Make `count` fresh, empty rooms and return their ids."""

    @abstractmethod
    async def connect_url(self, room: str, client: int = 0) -> str:
        """A websocket URL for one new connection to `room`, as its `client`-th client."""

    def client_root(self, room: str, client: int) -> str | None:
        """The root the room's `client`-th client edits; None means the load's `text_name`."""
        return None

    async def aclose(self) -> None:
        """Release the HTTP session, if the adapter opened one (Widen's API)."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _spawn(self, argv: list[str], env: dict[str, str], cwd: Path) -> ManagedProcess:
        """Prepare the server process (on `self.port`, chosen by the caller)."""
        self.process = ManagedProcess(
            self.name, argv, cwd=cwd, env=env, log_path=self.workdir / f"{self.name}.log"
        )
        return self.process

    async def _wait_tcp(self) -> None:
        process = self.process
        assert process is not None

        async def accepting() -> bool:
            process.check_alive()
            return await tcp_open(self.port)

        await wait_until(f"{self.name} listening", accepting, within_s=START_TIMEOUT_S)


class _NamedRoomsAdapter(ServerAdapter):
    """Servers where a room is just the URL path and comes into being on first join."""

    async def create_rooms(self, count: int) -> list[str]:
        run = uuid.uuid4().hex[:8]
        return [f"bench-{run}-{i}" for i in range(count)]

    async def connect_url(self, room: str, client: int = 0) -> str:
        return f"ws://{LOOPBACK}:{self.port}/{room}"


class YwsAdapter(_NamedRoomsAdapter):
    """The y-websocket 1.5 reference server (node, in-memory, no auth)."""

    name = "yws"

    def describe(self) -> str:
        versions = ", ".join(
            f"{pkg} {jsdeps.installed_version(pkg)}" for pkg in ("y-websocket", "yjs")
        )
        return f"y-websocket bin/server.js ({versions}; node), in memory, no persistence"

    async def start(self) -> None:
        jsdeps.ensure_installed()
        self.port = free_port()
        process = self._spawn(
            [jsdeps.node_binary(), str(jsdeps.YWS_SERVER)],
            {"HOST": LOOPBACK, "PORT": str(self.port)},
            jsdeps.JS_DIR,
        )
        await process.start()
        await self._wait_tcp()


class HocuspocusAdapter(_NamedRoomsAdapter):
    """Hocuspocus (bench/js/hocuspocus-server.mjs): default settings, in memory, no auth hook.

    One socket can carry many documents, so the document is named in every message rather than
    by the URL: the URL is the server's root (Hocuspocus does not route by the path), and the
    room id is the document name the load generator's framing writes.
    """

    name = "hocus"
    framing = "hocuspocus"

    def describe(self) -> str:
        versions = ", ".join(
            f"{pkg} {jsdeps.installed_version(pkg)}" for pkg in ("@hocuspocus/server", "yjs")
        )
        return f"Hocuspocus Server ({versions}; node), default settings, in memory, no persistence"

    async def start(self) -> None:
        jsdeps.ensure_installed()
        self.port = free_port()
        process = self._spawn(
            [jsdeps.node_binary(), str(jsdeps.HOCUSPOCUS_SERVER)],
            {"HOST": LOOPBACK, "PORT": str(self.port)},
            jsdeps.JS_DIR,
        )
        await process.start()
        await self._wait_tcp()

    async def connect_url(self, room: str, client: int = 0) -> str:
        return f"ws://{LOOPBACK}:{self.port}"


class PycrdtAdapter(_NamedRoomsAdapter):
    """pycrdt-websocket's ASGIServer under uvicorn (bench/pycrdt_ws_server.py)."""

    name = "pycrdt"

    def describe(self) -> str:
        versions = ", ".join(f"{pkg} {version(pkg)}" for pkg in ("pycrdt-websocket", "uvicorn"))
        return f"pycrdt-websocket ASGIServer ({versions}), in memory, no persistence"

    async def start(self) -> None:
        self.port = free_port()
        script = BENCH_DIR / "pycrdt_ws_server.py"
        process = self._spawn([repo_python(), str(script), "--port", str(self.port)], {}, BENCH_DIR)
        await process.start()
        await self._wait_tcp()


class WidenAdapter(ServerAdapter):
    """Widen itself: migrates and serves on start; rooms are documents of one bench user.

    The database lives in the adapter's workdir, so a restart (stop, then start) reopens the
    same data: that is how the replay measures a cold load.
    """

    name = "widen"
    stop_grace_s = 120.0  # its final flush of a big backlog is part of what is measured
    EMAIL = "bench@example.com"
    PASSWORD = "bench-password-1"
    HTTP_CONCURRENCY = 8
    MAX_429_RETRIES = 20

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.db_path = workdir / "bench.db"
        self._token = ""
        self._limit = asyncio.Semaphore(self.HTTP_CONCURRENCY)

    def describe(self) -> str:
        return f"Widen (python -m app), SQLite at {self.db_path}"

    @property
    def bearer_token(self) -> str:
        """The bench user's session token, for requests a benchmark makes on its own."""
        return self._token

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _settings(self) -> dict[str, str]:
        """The server's environment, apart from where it listens."""
        return {
            "WIDEN_DATABASE_URL": f"sqlite+aiosqlite:///{self.db_path}",
            # One bench user holds every connection, replays send as fast as they can, and the
            # bench signs up one user per client from one address: not what it measures.
            "WIDEN_MAX_CONNECTIONS_PER_USER": "0",
            "WIDEN_MAX_MESSAGES_PER_SECOND": "0",
            "WIDEN_REGISTRATIONS_PER_HOUR": "0",
        }

    async def start(self) -> None:
        self.port = free_port()
        env = {"WIDEN_PORT": str(self.port), "WIDEN_HOST": LOOPBACK, **self._settings()}
        await self._spawn([repo_python(), "-m", "app"], env, REPO_DIR).start()
        if self._http is not None:
            await self._http.aclose()
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=30.0)
        await wait_until("widen /api/health", self._healthy, within_s=START_TIMEOUT_S)
        await self._log_in()

    async def _healthy(self) -> bool:
        assert self.process is not None and self._http is not None
        self.process.check_alive()
        try:
            response = await self._http.get("/api/health")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        expect: set[int],
        token: str | None = None,
    ) -> httpx.Response:
        """One API call, as the bench user unless `token` says whom; 429 is waited out
        (Retry-After) a bounded number of times."""
        assert self._http is not None
        token = self._token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for _ in range(self.MAX_429_RETRIES):
            async with self._limit:
                response = await self._http.request(method, path, json=body, headers=headers)
            if response.status_code != 429:
                break
            await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))
        if response.status_code not in expect:
            raise RuntimeError(
                f"widen {method} {path} -> {response.status_code}: {response.text[:300]}"
            )
        return response

    async def _log_in(self) -> None:
        self._token = await self._sign_up(self.EMAIL, "Bench")

    async def _sign_up(self, email: str, name: str) -> str:
        """Register (or find registered) and log in a user; returns their session token."""
        await self._request(
            "POST",
            "/api/auth/register",
            {"email": email, "password": self.PASSWORD, "name": name},
            {201, 409},  # 409: registered before a restart on the same database
            token="",
        )
        response = await self._request(
            "POST", "/api/auth/login", {"email": email, "password": self.PASSWORD}, {200}, ""
        )
        return str(response.json()["token"])

    async def _add_editor(self, room: str, email: str, token: str,
                          sections: list[str] | None) -> None:
        """The bench user invites `email` to edit `room` (only `sections`, if given), and
        that user (`token`) accepts."""
        invitation = {"email": email, "role": "editor", "sections": sections,
                      "reason": "expertise"}
        response = await self._request("POST", f"/api/documents/{room}/invitations",
                                       invitation, {201})
        await self._request("POST", f"/api/invitations/{response.json()['id']}/accept",
                            by_link(response.json()), {200}, token)

    async def create_rooms(self, count: int) -> list[str]:
        async def one(i: int) -> str:
            response = await self._request("POST", "/api/documents", {"title": f"bench {i}"}, {201})
            return str(response.json()["id"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))

    async def connect_url(self, room: str, client: int = 0) -> str:
        return await self._ticket_url(room, self._token)

    async def _ticket_url(self, room: str, token: str) -> str:
        response = await self._request("POST", f"/api/documents/{room}/ticket", None, {200}, token)
        ticket = quote(response.json()["ticket"], safe="")
        return f"ws://{LOOPBACK}:{self.port}/ws/{room}?ticket={ticket}"


class WidenMembersAdapter(WidenAdapter):
    """Widen where every client is an invited member, for measuring the write guard.

    Client i of every room is user i (C sign-ups in all, whatever the number of rooms). In each
    room the owner makes one section per client and invites user i, who accepts: as an editor
    of just section i when `scoped`, else as a whole-document editor. Either way client i edits
    the root `section:<id of section i>`, so both variants do the same CRDT work, hold the same
    users, grants and tickets, and differ only in whether the guard checks each update.
    Not in `ADAPTERS`: `bench/guard.py` runs it.
    """

    def __init__(self, workdir: Path, clients: int, scoped: bool) -> None:
        super().__init__(workdir)
        self.name = "widen-sections" if scoped else "widen-whole"
        self.clients = clients
        self.scoped = scoped
        self._member_tokens: list[str] = []
        self._roots: dict[tuple[str, int], str] = {}

    def describe(self) -> str:
        scope = "an editor of its own section only" if self.scoped else "a whole-document editor"
        return f"{super().describe()}; each client {scope}"

    def _member_email(self, client: int) -> str:
        return f"writer{client}@example.com"

    async def _log_in(self) -> None:
        await super()._log_in()
        self._member_tokens = list(
            await asyncio.gather(
                *(self._sign_up(self._member_email(i), f"Writer {i}") for i in range(self.clients))
            )
        )

    async def create_rooms(self, count: int) -> list[str]:
        rooms = await super().create_rooms(count)

        async def join(room: str, client: int) -> None:
            response = await self._request(
                "POST", f"/api/documents/{room}/sections", {"title": f"Part {client}"}, {201}
            )
            section = response.json()
            await self._add_editor(room, self._member_email(client), self._member_tokens[client],
                                   [section["id"]] if self.scoped else None)
            self._roots[room, client] = str(section["root"])

        await asyncio.gather(*(join(r, i) for r in rooms for i in range(self.clients)))
        return rooms

    async def connect_url(self, room: str, client: int = 0) -> str:
        return await self._ticket_url(room, self._member_tokens[client])

    def client_root(self, room: str, client: int) -> str | None:
        return self._roots[room, client]


class _WidenNode(WidenAdapter):
    """One of the processes of a `WidenClusterAdapter`: Widen on its database and Redis."""

    def __init__(self, workdir: Path, name: str, database_url: str, redis_url: str) -> None:
        super().__init__(workdir)
        self.name = name
        self.database_url = database_url
        self.redis_url = redis_url

    def _settings(self) -> dict[str, str]:
        return {
            **super()._settings(),
            "WIDEN_DATABASE_URL": self.database_url,
            "WIDEN_REDIS_URL": self.redis_url,
        }


class WidenClusterAdapter(ServerAdapter):
    """Widen as `count` processes on one PostgreSQL database and one Redis, both the run's own
    (a fresh database on the PostgreSQL at 127.0.0.1:5432, a redis-server on a free port),
    removed after.

    Client i of every room connects to process i mod `count`: with two, every room has clients
    on both, and each edit reaches some of its readers through Redis. Rooms are made, and the
    bench user signs up, through the first process; each process gives out its own tickets.
    With `count` 1 it is the same setup on one process, the baseline the others are held to.
    """

    stop_grace_s = WidenAdapter.stop_grace_s
    # Logged events that cost or delay edits across processes: a room reloading from the
    # database because another process's state vector was ahead twice in a row (crdt/room_link),
    # and Redis messages dropped or the broker cut off (crdt/redis_broker).
    WATCHED_EVENTS = (
        "room.behind",
        "room.repair_failed",
        "broker.dropped",
        "broker.unreachable",
        "broker.reconnected",
    )

    def __init__(self, workdir: Path, name: str, count: int, *, members: bool = False) -> None:
        """`members`: client i of every room is user i, a whole-document editor the owner
        invited (as people are: each on the process the proxy gave them); else every client
        is the owner, one user writing on every process, whose counter rows (contributions,
        attribution) both processes' writers then update in each commit."""
        super().__init__(workdir)
        self.name = name
        self.count = count
        self.members = members
        self.nodes: list[_WidenNode] = []
        self.postgres: PostgresDatabase | None = None
        self.redis: RedisServer | None = None
        self._member_tokens: dict[int, str] = {}
        self._joined: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._signing_up = asyncio.Lock()

    def describe(self) -> str:
        postgres = self.postgres.version if self.postgres else "?"
        redis = self.redis.version if self.redis else "?"
        who = ("client i is user i, an invited editor" if self.members
               else "every client is the owner")
        return (
            f"Widen (python -m app) x {self.count} process(es), client i of a room on process "
            f"i mod {self.count}, {who}; PostgreSQL {postgres} (a fresh database), "
            f"redis-server {redis} (the run's own)"
        )

    @property
    def processes(self) -> list[ManagedProcess]:
        return [node.process for node in self.nodes if node.process is not None]

    def services(self) -> list[Service]:
        services: list[Service] = []
        if self.redis is not None:
            services.append(self.redis)
        if self.postgres is not None:
            services += [self.postgres.backends, self.postgres.server]
        return services

    def log_events(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for process in self.processes:
            for line in process.log_path.read_text(errors="replace").splitlines():
                if not line.startswith("{"):
                    continue  # not a record of Widen's JSON log (a traceback's lines)
                event = json.loads(line).get("event")
                if event in self.WATCHED_EVENTS:
                    counts[event] += 1
        return dict(counts)

    async def start(self) -> None:
        self.postgres = PostgresDatabase()
        await self.postgres.create()
        self.redis = RedisServer(self.workdir)
        await self.redis.start()
        # One after the other: the first migrates the empty database and signs the bench user
        # up; the others find both done.
        for index in range(self.count):
            node = _WidenNode(
                self.workdir, f"{self.name}.{index}", self.postgres.url, self.redis.url
            )
            self.nodes.append(node)
            await node.start()

    async def stop(self) -> int:
        """Stop every process (each flushes), then Redis, then drop the database; the first
        non-zero exit status of a process, else 0."""
        try:
            statuses = await asyncio.gather(*(node.stop() for node in self.nodes))
        finally:
            try:
                if self.redis is not None:
                    await self.redis.stop()
            finally:
                if self.postgres is not None:
                    await self.postgres.drop()
        return next((status for status in statuses if status != 0), 0)

    async def aclose(self) -> None:
        for node in self.nodes:
            await node.aclose()

    async def create_rooms(self, count: int) -> list[str]:
        return await self.nodes[0].create_rooms(count)

    async def connect_url(self, room: str, client: int = 0) -> str:
        node = self.nodes[client % self.count]
        if not self.members:
            return await node.connect_url(room, client)
        if (room, client) not in self._joined:
            self._joined[room, client] = asyncio.create_task(self._join(room, client))
        await self._joined[room, client]
        return await node._ticket_url(room, self._member_tokens[client])

    async def _join(self, room: str, client: int) -> None:
        """User `client` signs up (once) and accepts the owner's invitation to `room`."""
        owner = self.nodes[0]
        email = f"writer{client}@example.com"
        async with self._signing_up:
            if client not in self._member_tokens:
                self._member_tokens[client] = await owner._sign_up(email, f"Writer {client}")
        await owner._add_editor(room, email, self._member_tokens[client], None)


ADAPTERS: dict[str, type[ServerAdapter]] = {
    "widen": WidenAdapter,
    "yws": YwsAdapter,
    "hocus": HocuspocusAdapter,
    "pycrdt": PycrdtAdapter,
}
# Widen on PostgreSQL and Redis, as this many processes; run only when named (they need the
# PostgreSQL at 127.0.0.1:5432 and redis-server).
# With "-users", client i of every room is user i (an invited editor), not the owner.
CLUSTERS: dict[str, int] = {"widen-pg": 1, "widen-2p": 2,
                            "widen-pg-users": 1, "widen-2p-users": 2}
SERVER_NAMES = [*ADAPTERS, *CLUSTERS]


def make_adapter(name: str, workdir: Path) -> ServerAdapter:
    """Build the adapter for a server kind, with its own scratch directory."""
    if name not in SERVER_NAMES:
        raise ValueError(f"unknown server {name!r}; choose from {', '.join(SERVER_NAMES)}")
    path = workdir / name
    os.makedirs(path, exist_ok=True)
    if name in CLUSTERS:
        return WidenClusterAdapter(path, name, CLUSTERS[name], members=name.endswith("-users"))
    return ADAPTERS[name](path)


Measured = TypeVar("Measured")


async def measure_server(name: str, workdir: Path,
                         body: Callable[[ServerAdapter], Awaitable[Measured]]) -> Measured:
    """Start one server, run `body` against it, stop it (always); on a failure, print each
    of its processes' log tail first, for the figures' reader to see why."""
    adapter = make_adapter(name, workdir)
    try:
        await adapter.start()
        return await body(adapter)
    except Exception:
        for process in adapter.processes:
            status = process.returncode
            print(f"-- {process.name} (exit status {status}) log tail:", file=sys.stderr)
            print(process.log_tail(), file=sys.stderr)
        raise
    finally:
        await adapter.stop()
        await adapter.aclose()
