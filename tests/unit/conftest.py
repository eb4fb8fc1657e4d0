"""The fast tier: in-process tests of one module at a time, on real SQLite files.

Each test gets a copy of one database migrated once per session (alembic takes about a second;
a copy takes a millisecond).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.migrate import upgrade


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
