"""What the deployment tests share: a PostgreSQL database of the test's own, in every pass of
the suite (the server `.ci/run` starts), since several processes need a database server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.pgadmin import create_database, drop_database, postgres_url


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[str]:
    admin_url = postgres_url()
    url = await create_database(admin_url)
    try:
        yield url
    finally:
        await drop_database(url, admin_url)
