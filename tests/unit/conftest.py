"""The fast tier: in-process tests on real SQLite files, of one module at a time or of the
whole app over an in-memory transport (`make test-fast` runs them in seconds).

Each test gets a copy of one database migrated once per session (alembic takes about a second;
a copy takes a millisecond).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.support.api import Api, clients_of
from tests.support.server import TEST_SETTINGS


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "widen.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_path(migrated_sqlite: Path, tmp_path: Path) -> Path:
    path = tmp_path / "widen.db"
    shutil.copy(migrated_sqlite, path)
    return path


@pytest.fixture
async def engine(sqlite_path: Path) -> AsyncIterator[AsyncEngine]:
    """A short busy timeout (50 ms, not the app's 30 s): a lock held by a test is a storage
    fault the writer sees at once."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{sqlite_path}",
                                 connect_args={"timeout": 0.05})
    yield engine
    await engine.dispose()


AppFactory = Callable[..., Awaitable[FastAPI]]


@pytest.fixture
async def start_app(sqlite_path: Path, tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Start the whole app in this process, lifespan and all, on the test's database; settings
    override `IN_PROCESS_SETTINGS`. Apps started one after another share the database, like a
    restarted server."""
    async with AsyncExitStack() as running:
        async def start(**settings: Any) -> FastAPI:
            app = create_app(Settings(**{
                "database_url": f"sqlite+aiosqlite:///{sqlite_path}",
                "rejected_dir": tmp_path / "rejected",
                **TEST_SETTINGS, **settings}))
            await running.enter_async_context(app.router.lifespan_context(app))
            return app

        yield start


def client_of(app: FastAPI) -> Api:
    """A client of an in-process app, over an in-memory transport."""
    return Api("http://widen.test", transport=httpx.ASGITransport(app=app))


@pytest.fixture
async def make_client(start_app: AppFactory) -> AsyncIterator[Callable[[], Api]]:
    """Clients of one in-process app."""
    app = await start_app()
    async with clients_of(lambda: client_of(app)) as make:
        yield make
