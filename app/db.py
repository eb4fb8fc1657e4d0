"""Engine and session factory, built from settings by the app factory (never at import time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from app.settings import Settings


def create_engine(settings: Settings, *, connections: int | None = None) -> AsyncEngine:
    """`hide_parameters`: a failed statement's message (and so a logged traceback) names the
    SQL but not its values, which are update bytes (document content), digests and e-mails.

    `connections`: a pool of exactly that many, for one job that must never wait behind the
    others for a connection (the update writer); by default the shared pool of the settings.
    """
    url = make_url(settings.database_url)
    if connections is not None:
        sizes = {"pool_size": connections, "max_overflow": 0}
    elif settings.is_sqlite:
        sizes = {}
    else:
        sizes = {"pool_size": settings.database_pool_size,
                 "max_overflow": settings.database_max_overflow}
    # An SQL error's message would otherwise quote its parameters: whatever a client sent
    # (titles, messages) and more, into the log.
    if not settings.is_sqlite:
        # A ping before every checkout finds a connection the server dropped (a restart) before
        # a request fails on it. The writer does without: it retries a failed commit on a
        # fresh connection anyway, and it checks out once per flush, where a ping is one more
        # round trip per commit.
        return create_async_engine(url, pool_pre_ping=connections is None,
                                   hide_parameters=True, **sizes)
    if url.database and url.database != ":memory:":
        from pathlib import Path

        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True,
                                 **sizes)
    _set_sqlite_pragmas(engine.sync_engine, settings)
    return engine


def create_sqlite_thread_engine(settings: Settings) -> Engine:
    """On SQLite, one connection for work done on a thread of its own: the update writer's
    commits (`crdt.store`), websocket admissions (`app.ws_admission`). Such work is one hop to
    that thread, where through aiosqlite each statement took three (cursor, execute, close),
    every hop two thread switches and a wake-up of the event loop: at a few hundred commits a
    second that was a tenth of the server's CPU."""
    url = make_url(settings.database_url).set(drivername="sqlite")
    engine = create_sync_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                hide_parameters=True, pool_size=1, max_overflow=0)
    _set_sqlite_pragmas(engine, settings)
    return engine


def _set_sqlite_pragmas(engine: Engine, settings: Settings) -> None:
    synchronous = settings.sqlite_synchronous
    max_pages = settings.sqlite_max_pages

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers proceed during the writer's group commit; synchronous decides what a
        # commit survives (see README, "Durability").
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if max_pages:
            cursor.execute(f"PRAGMA max_page_count={int(max_pages)}")
        cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
