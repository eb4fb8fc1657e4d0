"""What Widen on several processes stands on in a bench run: a PostgreSQL database and a
redis-server of the run's own, made fresh and removed after.

Each is also a `Service` whose CPU a run reports per edit: the redis-server itself, and
PostgreSQL twice over. "PostgreSQL backends" are the backends connected to the run's database
(`pg_stat_activity`), read process by process: Widen's, for sure, but a connection that opens
and closes between two readings is missed, and under load Widen's pool opens and closes dozens
a second (each fork and start-up is server work too). "PostgreSQL server" is the whole server:
the postmaster, every process under it, and what its ended children used (the kernel adds it
to the postmaster's children times when it reaps them), so nothing is missed, but other
databases' work on the shared server is in it too; it says how many connections to other
databases it saw.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Protocol

import asyncpg
import psutil
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from proctools import LOOPBACK, ManagedProcess, free_port, process_cpu, wait_until

# The PostgreSQL every machine of the project runs (trust auth; tests/support/pgadmin.py's
# default): the run's database is made on it through its admin database `test`.
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT_S = 10.0


class Service(Protocol):
    """Processes a server uses, outside its own, whose CPU a run reports per edit."""

    name: str
    within: str | None  # another service whose figure already holds this one's, if any

    async def cpu(self) -> dict[int, float]:
        """Cumulative CPU seconds of each of the service's processes alive now, by pid."""
        ...

    def remark(self) -> str:
        """What the figure holds beyond its name, from the readings so far ("" if nothing)."""
        ...


class PostgresDatabase:
    """A fresh database on the shared PostgreSQL server, dropped (connections and all) after.

    Its admin connection (to the admin database) stays open meanwhile, for `backends` and
    `server` to read `pg_stat_activity` through.
    """

    def __init__(self, admin_dsn: str = POSTGRES_ADMIN_DSN) -> None:
        self.admin_dsn = admin_dsn
        self.database = f"widen_bench_{uuid.uuid4().hex[:12]}"
        self.version = ""
        self.admin_pid = 0  # the admin connection's own backend
        self._admin: asyncpg.Connection | None = None
        self._admin_lock = asyncio.Lock()  # one query at a time on the connection: two read it
        self.backends = PostgresBackends(self)
        self.server = PostgresServer(self)

    @property
    def url(self) -> str:
        """The database's URL for Widen (`WIDEN_DATABASE_URL`)."""
        host_part = self.admin_dsn.split("://", 1)[1].rsplit("/", 1)[0]
        return f"postgresql+asyncpg://{host_part}/{self.database}"

    async def create(self) -> None:
        self._admin = await asyncpg.connect(self.admin_dsn)
        self.version = str(await self._admin.fetchval("SHOW server_version"))
        self.admin_pid = int(await self._admin.fetchval("SELECT pg_backend_pid()"))
        await self._admin.execute(f'CREATE DATABASE "{self.database}"')

    async def sessions(self) -> list[tuple[int, str | None]]:
        """(pid, database) of every process `pg_stat_activity` lists, but the admin one."""
        assert self._admin is not None
        async with self._admin_lock:
            rows = await self._admin.fetch(
                "SELECT pid, datname FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            )
        return [(int(row["pid"]), row["datname"]) for row in rows]

    async def drop(self) -> None:
        """Drop the database even if a connection to it is left, then close the admin one."""
        if self._admin is None:
            return
        try:
            await self._admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await self._admin.close()
            self._admin = None


class PostgresBackends:
    """The backends connected to the run's database: Widen's connections, and any autovacuum
    worker busy with it."""

    name = "PostgreSQL backends"
    within: str | None = "PostgreSQL server"

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def cpu(self) -> dict[int, float]:
        sessions = await self._database.sessions()
        return process_cpu(pid for pid, name in sessions if name == self._database.database)

    def remark(self) -> str:
        return ""


class PostgresServer:
    """The whole PostgreSQL server, ended processes included: one figure, under the
    postmaster's pid."""

    name = "PostgreSQL server"
    within: str | None = None

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database
        self._postmaster: psutil.Process | None = None
        self._others: set[int] = set()  # connections to other databases seen

    async def cpu(self) -> dict[int, float]:
        if self._postmaster is None:
            self._postmaster = psutil.Process(self._database.admin_pid).parent()
            assert self._postmaster is not None, "a backend's parent is the postmaster"
        mine = (self._database.database, None)  # None: the server's own background processes
        self._others.update(p for p, name in await self._database.sessions() if name not in mine)
        times = self._postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        total += sum(process_cpu(child.pid for child in self._postmaster.children()).values())
        return {self._postmaster.pid: total}

    def remark(self) -> str:
        if not self._others:
            return "no connection to another database seen"
        return f"other databases' work included: {len(self._others)} connections to them seen"


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
    return found


class RedisServer:
    """A redis-server of the run's own on a free port, keeping nothing on disk."""

    name = "Redis"
    within: str | None = None

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.version = ""
        self.process = ManagedProcess(
            "redis",
            [redis_binary(), "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            cwd=workdir,
            env={},
            log_path=workdir / "redis.log",
        )

    @property
    def url(self) -> str:
        """Its URL for Widen (`WIDEN_REDIS_URL`)."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    async def start(self) -> None:
        """Start it and return once it answers (its version is read from the answer)."""
        await self.process.start()
        client = Redis(host=LOOPBACK, port=self.port, socket_connect_timeout=1.0)

        async def answering() -> bool:
            self.process.check_alive()
            try:
                info = await client.info("server")
            except RedisConnectionError:
                return False
            self.version = str(info["redis_version"])
            return True

        try:
            await wait_until("redis-server answering", answering, within_s=START_TIMEOUT_S)
        finally:
            await client.aclose()

    async def cpu(self) -> dict[int, float]:
        return process_cpu([self.process.pid])

    def remark(self) -> str:
        return ""

    async def stop(self) -> None:
        await self.process.stop()
