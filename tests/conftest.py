"""Fixtures that start real servers on real databases (SQLite, or PostgreSQL when
WIDEN_TEST_DATABASE_URL points at one)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import make_url

from app.migrate import upgrade
from tests.support.api import Api, clients_of
from tests.support.mailbox import Mailbox
from tests.support.pgadmin import create_database, drop_database, postgres_url
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess

T = TypeVar("T")

TEST_DATABASE_URL = os.environ.get("WIDEN_TEST_DATABASE_URL", "")


def _in_a_thread(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to the end from synchronous code, even while the test's event loop runs."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database at the newest schema, migrated once per pytest process, which every test's
    database copies: alembic's sixteen steps took 0.6 s of each server's start here, a copy
    takes milliseconds. The tests of migrating itself start from empty databases of their own
    (tests marked `empty_database`, tests/deploy/test_migrate_once.py, tests/cluster)."""
    with ExitStack() as made:
        if TEST_DATABASE_URL:
            url = _in_a_thread(create_database(TEST_DATABASE_URL))
            made.callback(lambda: _in_a_thread(drop_database(url, TEST_DATABASE_URL)))
        else:
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('template') / 'widen.db'}"
        with ThreadPoolExecutor(max_workers=1) as thread:  # alembic runs a loop of its own
            thread.submit(upgrade, url).result()
        yield url


@contextmanager
def _database(directory: Path, template_url: str) -> Iterator[str]:
    """A database of its own, a copy of `template_url`'s (the server's migration on start finds
    it at the newest schema already), or with `template_url` empty, an empty one."""
    if not TEST_DATABASE_URL:
        path = directory / "widen.db"
        if template_url:
            shutil.copyfile(make_url(template_url).database or "", path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = _in_a_thread(create_database(TEST_DATABASE_URL, template_url))
    try:
        yield url
    finally:
        _in_a_thread(drop_database(url, TEST_DATABASE_URL))


@pytest.fixture
def own_database(request: pytest.FixtureRequest,
                 tmp_path: Path) -> Iterator[Callable[[], str]]:
    """The test's database, made on first use (a test on a shared server needs none) and
    dropped only after the test's servers stopped: they depend on this fixture. At the newest
    schema, or, in a test marked `empty_database` (a test of migrating), empty."""
    with ExitStack() as made:
        urls: list[str] = []

        def url() -> str:
            if not urls:
                template = ("" if request.node.get_closest_marker("empty_database")
                            else request.getfixturevalue("migrated_database"))
                urls.append(made.enter_context(_database(tmp_path, template)))
            return urls[0]

        yield url


@pytest.fixture
def database_url(own_database: Callable[[], str]) -> str:
    return own_database()


@pytest.fixture
def start_server(
    own_database: Callable[[], str], tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """Servers of the test's own, on the test's database."""
    servers: list[ServerProcess] = []

    def start(**settings: str) -> ServerProcess:
        server = ServerProcess(own_database(), tmp_path / f"server{len(servers)}.log",
                               **settings)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@contextmanager
def _server_of_the_module(directory: Path, template_url: str,
                          **settings: str) -> Iterator[ServerProcess]:
    with _database(directory, template_url) as url:
        server = ServerProcess(url, directory / "server.log", **settings)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _shares_a_server(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("shared_server") is not None


def _running(server: ServerProcess) -> ServerProcess:
    if server.returncode is not None:  # an earlier test stopped it on purpose
        server.restart()
    return server


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory,
                  migrated_database: str) -> Iterator[ServerProcess]:
    with _server_of_the_module(tmp_path_factory.mktemp("module-server"),
                               migrated_database) as server:
        yield server


@pytest.fixture
def live_server(request: pytest.FixtureRequest,
                start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A server with the default settings: the test's own, or, in a module marked
    `shared_server`, one for all of the module's tests. Starting a server is most of a short
    test's time; tests sign up people of their own, so they do not meet on a shared one. A test
    that reads the whole log or counts what the server did starts its own (`start_server`)."""
    if not _shares_a_server(request):
        return start_server()
    return _running(request.getfixturevalue("module_server"))


@contextmanager
def _running_mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="module")
def module_mailbox() -> Iterator[Mailbox]:
    with _running_mailbox() as box:
        yield box


@pytest.fixture
def mailbox(request: pytest.FixtureRequest) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) that keeps what it receives; one per module where the
    module shares a server (tests then look for mail to addresses of their own)."""
    if _shares_a_server(request):
        yield request.getfixturevalue("module_mailbox")
        return
    with _running_mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def module_mailing_server(tmp_path_factory: pytest.TempPathFactory, module_mailbox: Mailbox,
                          migrated_database: str) -> Iterator[ServerProcess]:
    with _server_of_the_module(tmp_path_factory.mktemp("module-mailing-server"),
                               migrated_database, **module_mailbox.settings()) as server:
        yield server


@pytest.fixture
def mailing_server(request: pytest.FixtureRequest, start_server: Callable[..., ServerProcess],
                   mailbox: Mailbox) -> ServerProcess:
    """A server that sends its mail to `mailbox`."""
    if _shares_a_server(request):
        return _running(request.getfixturevalue("module_mailing_server"))
    return start_server(**mailbox.settings())


@pytest.fixture
async def make_api(live_server: ServerProcess) -> AsyncIterator[Callable[[], Api]]:
    async with clients_of(lambda: Api(live_server.base_url)) as make:
        yield make


@pytest.fixture
async def alice(make_api: Callable[[], Api]) -> Api:
    return await make_api().sign_up("Alice")


@pytest.fixture
async def bob(make_api: Callable[[], Api]) -> Api:
    return await make_api().sign_up("Bob")


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[str]:
    """A PostgreSQL database of the test's own, in every pass of the suite (the server
    `.ci/run` starts): several processes need a database server (tests/deploy, tests/cluster)."""
    admin_url = postgres_url()
    url = await create_database(admin_url)
    try:
        yield url
    finally:
        await drop_database(url, admin_url)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own, which it may kill and start again."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()
