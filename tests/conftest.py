"""Fixtures that start real servers on real databases (SQLite, or PostgreSQL when
WIDEN_TEST_DATABASE_URL points at one)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.mailbox import Mailbox
from tests.support.pgadmin import create_database, drop_database
from tests.support.server import ServerProcess

TEST_DATABASE_URL = os.environ.get("WIDEN_TEST_DATABASE_URL", "")


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A brand-new, empty database per test; the server migrates it with alembic on start."""
    if not TEST_DATABASE_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'widen.db'}"
        return
    url = await create_database(TEST_DATABASE_URL)
    try:
        yield url
    finally:
        await drop_database(url, TEST_DATABASE_URL)


@pytest.fixture
def start_server(
    database_url: str, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    servers: list[ServerProcess] = []

    def start(**settings: str) -> ServerProcess:
        server = ServerProcess(database_url, tmp_path / f"server{len(servers)}.log", **settings)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def mailing_server(start_server: Callable[..., ServerProcess],
                   mailbox: Mailbox) -> ServerProcess:
    """A server that sends its mail to `mailbox`."""
    return start_server(**mailbox.settings())


@pytest.fixture
async def make_api(live_server: ServerProcess) -> AsyncIterator[Callable[[], Api]]:
    clients: list[Api] = []

    def make() -> Api:
        api = Api(live_server.base_url)
        clients.append(api)
        return api

    yield make
    for api in clients:
        await api.aclose()


@pytest.fixture
async def alice(make_api: Callable[[], Api]) -> Api:
    return await make_api().sign_up("Alice")


@pytest.fixture
async def bob(make_api: Callable[[], Api]) -> Api:
    return await make_api().sign_up("Bob")
