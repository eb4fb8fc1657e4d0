"""Databases of their own on a PostgreSQL server, for tests: created empty, dropped after.

CREATE/DROP DATABASE cannot run in a transaction, so this talks to the admin database through
asyncpg directly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine.url import make_url

# The PostgreSQL the suite may always use (`.ci/run` starts it): the PostgreSQL pass's own URL,
# or the server every machine of the project runs at 127.0.0.1:5432.
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """The admin URL of a PostgreSQL server, even in the SQLite pass of the suite."""
    url = os.environ.get("WIDEN_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else DEFAULT_POSTGRES_URL


async def admin(sql: str, admin_url: str) -> None:
    """Run one statement on the admin database behind `admin_url`."""
    import asyncpg

    url = make_url(admin_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(admin_url: str, template_url: str = "") -> str:
    """A new database on that server, empty or a copy of the one at `template_url` (which
    nothing may be connected to); returns its URL (same driver as `admin_url`)."""
    name = f"widen_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{make_url(template_url).database}"' if template_url else ""
    await admin(f'CREATE DATABASE "{name}"{template}', admin_url)
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(database_url: str, admin_url: str) -> None:
    name = make_url(database_url).database
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_url)


@asynccontextmanager
async def fresh_database(directory: Path, postgres_url: str) -> AsyncIterator[str]:
    """An empty database: a SQLite file in `directory`, or, with `postgres_url` (an admin URL,
    the PostgreSQL pass's), a database of its own on that server, dropped afterwards."""
    if not postgres_url:
        yield f"sqlite+aiosqlite:///{directory / 'widen.db'}"
        return
    url = await create_database(postgres_url)
    try:
        yield url
    finally:
        await drop_database(url, postgres_url)
