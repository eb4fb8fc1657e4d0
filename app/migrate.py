"""Bring a database to the newest schema with alembic: the only way any table is created.

Several processes started together (the compose file's app services, an orchestrator's
replicas) each migrate on start. Alembic itself does not serialize them: each reads an empty
`alembic_version`, each runs `CREATE TABLE`, and all but one die on "already exists". On
PostgreSQL the upgrade therefore runs under a session-level advisory lock: the first process
migrates, the others wait on the lock and then find nothing to do. SQLite is one process's
file (the embedded setup) and needs none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.settings import PROJECT_ROOT

# The advisory lock's key: fixed, so every Widen process agrees on it; "Widen" + "MG"
# (migrate) in ASCII, unlikely to meet another application's key on a shared server.
MIGRATION_LOCK_KEY = 0x576964656E4D47


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the migration lock on `connection` (PostgreSQL; a no-op elsewhere) for the block.

    Session level, not transaction level: alembic commits as it goes, and the lock must outlast
    those commits. It is taken and committed before alembic reads `alembic_version`, so a
    process that waited reads, in a new transaction, what the one before it committed.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    key = {"key": MIGRATION_LOCK_KEY}
    connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
    connection.commit()
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        connection.commit()
