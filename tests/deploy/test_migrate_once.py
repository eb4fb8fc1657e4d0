"""Processes starting together on one PostgreSQL database migrate it once (issue 12).

Three real `python -m app` processes, each on its own port, start on one fresh database. So
that they truly meet at the migration (process start-up jitters by hundreds of milliseconds, as
long as a migration run takes), the test holds the migration lock itself until all three are
waiting on it, then lets go: all three reach for the lock at the same instant.

How it fails: with the lock removed from `migrations/env.py`, the processes do not wait;
they race, each reads an empty `alembic_version` and creates it, and all but one die on
`duplicate key value violates unique constraint "pg_type_typname_nsp_index"` (seen so); the
test reports that process's end. A process that waited and then migrated again would fail the
same way, or log "Running upgrade" lines of its own, which the test counts.

The database is PostgreSQL in every pass of the suite (the one `.ci/run` starts); the
PostgreSQL pass skips tests/deploy, which would only repeat this (Makefile).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import asyncpg
from alembic.script import ScriptDirectory
from sqlalchemy.engine.url import make_url

from app.migrate import MIGRATION_LOCK_KEY, alembic_config
from tests.support.server import ImageServerProcess, ServerProcess

PROCESSES = 3


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


async def _lock_waiters(conn: asyncpg.Connection) -> int:
    """Sessions waiting for the migration lock in this database (a 64-bit advisory key shows
    in pg_locks as its high and low halves)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid = $1 AND objid = $2 AND objsubid = 1",
        MIGRATION_LOCK_KEY >> 32, MIGRATION_LOCK_KEY & 0xFFFFFFFF)
    return count


async def _wait_for_waiters(conn: asyncpg.Connection, servers: list[ServerProcess],
                            timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (waiting := await _lock_waiters(conn)) < len(servers):
        exited = [s.log_tail() for s in servers if s.returncode is not None]
        assert not exited, "a process ended instead of waiting for the lock:\n" + exited[0]
        assert time.monotonic() < deadline, (
            f"{waiting} of {len(servers)} processes wait for the migration lock")
        await asyncio.sleep(0.05)


def _migration_steps(server: ServerProcess) -> int:
    """How many migrations this process ran (alembic logs one line per step)."""
    lines = (json.loads(line) for line in server.logs().splitlines() if line.startswith("{"))
    return sum(1 for entry in lines if entry.get("logger") == "alembic.runtime.migration"
               and str(entry.get("msg", "")).startswith("Running upgrade"))


async def test_three_processes_starting_together_migrate_once(
    fresh_postgres: str, tmp_path: Path
) -> None:
    servers: list[ServerProcess] = [
        ImageServerProcess(fresh_postgres, tmp_path / f"server{n}.log") for n in range(PROCESSES)]
    holder = await asyncpg.connect(_dsn(fresh_postgres))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        # Each start returns once its server answers /api/health; they run side by side.
        starting = asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))
        try:
            await _wait_for_waiters(holder, servers)
        finally:
            await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
            await starting
        versions = [r["version_num"]
                    for r in await holder.fetch("SELECT version_num FROM alembic_version")]
    finally:
        await holder.close()
        for server in servers:
            server.stop()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert versions == [head]
    steps = sorted(_migration_steps(s) for s in servers)
    assert steps[:-1] == [0] * (PROCESSES - 1) and steps[-1] > 0, steps
