"""`python -m tests.support.pgcheck URL`: exit 0 when PostgreSQL answers at URL, 1 otherwise."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
from sqlalchemy.engine.url import make_url


async def _check(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=5)
    await conn.close()


if __name__ == "__main__":
    try:
        asyncio.run(_check(sys.argv[1]))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL check failed: {exc}", file=sys.stderr)
        sys.exit(1)
