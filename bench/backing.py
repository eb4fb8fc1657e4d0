"""What Widen on several processes stands on in a bench run: a PostgreSQL database and a
redis-server of the run's own, made fresh and removed after.

Both also say which processes do their work (`pids`), so a run can put their CPU beside the
server's: the redis-server itself, and the PostgreSQL backends connected to the run's database
(`pg_stat_activity`). The PostgreSQL server's shared processes (WAL writer, checkpointer,
background writer) serve every database on it, other work's too, and are not counted.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Protocol

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from proctools import LOOPBACK, ManagedProcess, free_port, wait_until

# The PostgreSQL every machine of the project runs (trust auth; tests/support/pgadmin.py's
# default): the run's database is made on it through its admin database `test`.
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT_S = 10.0


class Service(Protocol):
    """A process or set of processes a server uses, whose CPU a run reports per edit."""

    name: str

    async def pids(self) -> list[int]:
        """The processes doing this service's work for the run, now."""
        ...


class PostgresDatabase:
    """A fresh database on the shared PostgreSQL server, dropped (connections and all) after."""

    name = "PostgreSQL"

    def __init__(self, admin_dsn: str = POSTGRES_ADMIN_DSN) -> None:
        self.admin_dsn = admin_dsn
        self.database = f"widen_bench_{uuid.uuid4().hex[:12]}"
        self.version = ""
        self._admin: asyncpg.Connection | None = None

    @property
    def url(self) -> str:
        """The database's URL for Widen (`WIDEN_DATABASE_URL`)."""
        host_part = self.admin_dsn.split("://", 1)[1].rsplit("/", 1)[0]
        return f"postgresql+asyncpg://{host_part}/{self.database}"

    async def create(self) -> None:
        """Create the database; the admin connection stays open to list its backends."""
        self._admin = await asyncpg.connect(self.admin_dsn)
        self.version = str(await self._admin.fetchval("SHOW server_version"))
        await self._admin.execute(f'CREATE DATABASE "{self.database}"')

    async def pids(self) -> list[int]:
        """Backends connected to the run's database: Widen's pooled connections, and any
        autovacuum worker busy with it."""
        assert self._admin is not None
        rows = await self._admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
        )
        return [int(row["pid"]) for row in rows]

    async def drop(self) -> None:
        """Drop the database even if a connection to it is left, then close the admin one."""
        if self._admin is None:
            return
        try:
            await self._admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await self._admin.close()
            self._admin = None


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
    return found


class RedisServer:
    """A redis-server of the run's own on a free port, keeping nothing on disk."""

    name = "Redis"

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

    async def pids(self) -> list[int]:
        return [self.process.pid]

    async def stop(self) -> None:
        await self.process.stop()
