"""One clock and one column type, so every timestamp is an aware UTC datetime in Python.

The clock may be moved by tests (`WIDEN_TEST_CLOCK_FILE`, refused unless
`WIDEN_TEST_CLOCK_ALLOWED` is set too): the file holds an offset in seconds, read at every
call, so a test can send a running server days ahead without restarting it, and time still
flows (timestamps keep their order).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_offset_file: Path | None = None


def use_test_clock(offset_file: Path | None) -> None:
    """Shift every `utcnow()` by the seconds written in `offset_file` (None: the real clock).
    Only `app.main` calls it, from settings that refuse it outside tests."""
    global _offset_file
    _offset_file = offset_file


def _offset() -> timedelta:
    if _offset_file is None:
        return timedelta()
    try:
        text = _offset_file.read_text().strip()
    except FileNotFoundError:
        return timedelta()
    return timedelta(seconds=float(text or 0))


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset()


def now_ms() -> int:
    """`utcnow()` in Unix milliseconds (the update log's and attribution's timestamps)."""
    return int(utcnow().timestamp() * 1000)


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite forgets time zones; storing naive UTC and re-attaching UTC keeps both back ends
    comparable in SQL and correct in Python."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; use timeutil.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)
