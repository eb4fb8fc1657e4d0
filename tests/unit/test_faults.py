"""Which storage errors the writer waits out and which it sets rows aside for, on errors real
databases raise; and how a failure streak is reported over time."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crdt.faults import FailureStreak, Fault, classify, describe
from tests.support.pgadmin import postgres_url


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A plain pysqlite engine whose connections hold rows of at most 1000 bytes and a file of
    at most its current size: both limits are SQLite's own."""
    engine = create_engine(f"sqlite:///{tmp_path / 'faults.db'}", connect_args={"timeout": 0.05})

    @event.listens_for(engine, "connect")
    def _limits(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1000)

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)"))
    yield engine
    engine.dispose()


def _raised(engine: Engine, *statements: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return caught.value


def test_a_constraint_violation_is_a_refusal(sqlite_engine: Engine) -> None:
    insert = "INSERT INTO t VALUES (1, x'00')"
    exc = _raised(sqlite_engine, insert, insert)
    assert isinstance(exc, IntegrityError) and classify(exc) is Fault.REFUSED
    assert describe(exc) == "IntegrityError: UNIQUE constraint failed: t.id"


def test_a_value_too_big_is_a_refusal(sqlite_engine: Engine) -> None:
    exc = _raised(sqlite_engine, "INSERT INTO t VALUES (1, zeroblob(2000))")
    assert classify(exc) is Fault.REFUSED, describe(exc)
    assert describe(exc) == "DataError: string or blob too big"


def test_a_full_disk_is_waited_out(sqlite_engine: Engine) -> None:
    exc = _raised(sqlite_engine, "PRAGMA max_page_count=2",
                  *(f"INSERT INTO t VALUES ({n}, zeroblob(90))" for n in range(200)))
    assert "database or disk is full" in str(exc) and classify(exc) is Fault.UNAVAILABLE


def test_a_lock_held_elsewhere_is_waited_out(sqlite_engine: Engine, tmp_path: Path) -> None:
    locker = sqlite3.connect(tmp_path / "faults.db", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        exc = _raised(sqlite_engine, "INSERT INTO t VALUES (1, x'00')")
    finally:
        locker.close()
    assert "locked" in str(exc) and classify(exc) is Fault.UNAVAILABLE


def test_a_lost_connection_is_waited_out_whatever_error_it_came_with() -> None:
    """SQLAlchemy marks an error that invalidated the connection; the statement's own error
    class says nothing about the rows then."""
    lost = IntegrityError("INSERT", None, sqlite3.IntegrityError("x"),
                          connection_invalidated=True)
    assert classify(lost) is Fault.UNAVAILABLE
    assert classify(ConnectionResetError(104, "Connection reset by peer")) is Fault.UNAVAILABLE
    assert classify(RuntimeError("a bug")) is Fault.UNAVAILABLE


@pytest.fixture
async def postgres() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres_url())
    yield engine
    await engine.dispose()


async def test_postgresql_data_errors_are_refusals_by_their_sqlstate(
    postgres: AsyncEngine,
) -> None:
    """asyncpg's data errors reach SQLAlchemy as a bare DBAPIError: the SQLSTATE (class 22)
    is what tells them apart from an outage."""
    with pytest.raises(DBAPIError) as caught:
        async with postgres.begin() as conn:
            await conn.execute(text("CREATE TEMP TABLE t (s varchar(3))"))
            await conn.execute(text("INSERT INTO t VALUES ('abcd')"))
    assert getattr(caught.value.orig, "sqlstate", None) == "22001"
    assert classify(caught.value) is Fault.REFUSED
    assert describe(caught.value).startswith("StringDataRightTruncationError: value too long")


async def test_postgresql_ending_the_connection_is_waited_out(postgres: AsyncEngine) -> None:
    with pytest.raises(DBAPIError) as caught:
        async with postgres.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            await conn.execute(text("SELECT 1"))
    assert classify(caught.value) is Fault.UNAVAILABLE, describe(caught.value)


class FakeClock:
    """A clock the test moves by hand (a fake, named so): the streak's timing without waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_streak_is_reported_at_growing_intervals_then_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 10-minute outage retried every 2 s (300 attempts): one line with the traceback,
    then lines after 5, 10, 20, 40, 80 s and every minute, then one recovery line."""
    caplog.set_level(logging.INFO, logger="test.streak")
    clock = FakeClock()
    streak = FailureStreak(logging.getLogger("test.streak"), "writer", clock=clock)
    started = clock.now
    error = OSError("connection refused")
    for _ in range(301):
        streak.failed(error, backlog=7)
        clock.now += 2.0
    streak.succeeded(backlog=0)

    records = caplog.records
    events = [getattr(r, "event", None) for r in records]
    assert events[0] == "store.commit_failing" and records[0].exc_info is not None
    assert events[-1] == "store.recovered"
    assert getattr(records[-1], "failing_seconds", None) == 602.0
    still = records[1:-1]
    assert {getattr(r, "event", None) for r in still} == {"store.still_failing"}
    assert all(r.exc_info is None and getattr(r, "backlog", None) == 7 for r in still)
    assert [getattr(r, "failing_seconds", None) for r in still] == [
        6.0, 12.0, 24.0, 48.0, 96.0, 156.0, 216.0, 276.0, 336.0, 396.0, 456.0, 516.0, 576.0]
    assert still[0].getMessage() == (
        "writer still failing for 6 s, backlog 7 (OSError: connection refused)")
    assert streak.failing_since is None and not streak.failing
    assert clock.now - started == 602.0
