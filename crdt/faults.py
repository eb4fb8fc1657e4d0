"""Storage failures: which ones retrying can fix, and how a streak of them is reported.

A database that is away (a lost connection, a refused connect, a full disk, a lock held too
long) comes back, and the same rows then commit: the writer waits and retries. A database that
refuses the rows themselves (a constraint, a value it cannot hold) refuses them again on every
retry: retrying would stall every document behind them, so the writer must find those rows and
set them aside instead.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

# SQLSTATE classes of a refusal of the data itself: 22 data exception (a value too long, a
# byte sequence the encoding refuses), 23 integrity constraint violation. The asyncpg dialect
# reports some of them only as a generic DBAPIError, so the code is read too.
_REFUSING_SQLSTATE_CLASSES = frozenset({"22", "23"})
# How often a failure streak is reported after its first line: after 5 s, then at doubling
# intervals, then once a minute.
REPORT_FIRST_AFTER_S = 5.0
REPORT_AT_MOST_EVERY_S = 60.0


class Fault(enum.Enum):
    # The database, or the way to it, is away: the same rows will commit once it is back.
    UNAVAILABLE = "unavailable"
    # The database refuses these rows: retrying the same rows cannot succeed.
    REFUSED = "refused"


def classify(exc: BaseException) -> Fault:
    """Refused only for a constraint or data error; everything else (lost or refused
    connections, a full disk, locks, errors nobody foresaw) is waited out and retried, since
    setting rows aside for a cause that passes would be worse than waiting."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return Fault.UNAVAILABLE
    if isinstance(exc, IntegrityError | DataError):
        return Fault.REFUSED
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _REFUSING_SQLSTATE_CLASSES:
        return Fault.REFUSED
    return Fault.UNAVAILABLE


def describe(exc: BaseException) -> str:
    """One short line naming the error: the driver's exception and its first line of message.

    Never the statement's parameters (the update bytes, that is document content): the
    driver's own message does not carry them, and SQLAlchemy's wrapper is not used.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    # The asyncpg dialect wraps asyncpg's exception once more; name the one that was raised.
    cause = orig.__cause__ if orig.__cause__ is not None else orig
    lines = str(orig).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{type(cause).__name__}: {first}"[:300]


class FailureStreak:
    """A run of failed storage attempts (the update writer's), reported as a few lines instead
    of one per try: the first failure with its exception (`store.commit_failing`), then "still
    failing" lines at growing intervals (`store.still_failing`, after 5, 10, 20, 40 and 80 s,
    then every minute), then one line when the database answers again (`store.recovered`)."""

    def __init__(self, log: logging.Logger, what: str, *,
                 first_report_after: float = REPORT_FIRST_AFTER_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self._what = what
        self._first_report_after = first_report_after
        self._clock = clock
        self._started: float | None = None
        self._next_report = 0.0
        self.failing_since: float | None = None  # wall-clock seconds, for /api/health
        self.attempts = 0

    @property
    def failing(self) -> bool:
        return self._started is not None

    def failed(self, exc: BaseException, **fields: Any) -> None:
        now = self._clock()
        self.attempts += 1
        if self._started is None:
            self._started = now
            self.failing_since = time.time()
            self._next_report = now + self._first_report_after
            self._log.error("%s cannot commit (%s); retrying until storage takes it",
                            self._what, describe(exc), exc_info=exc,
                            extra={**fields, "event": "store.commit_failing",
                                   "error": describe(exc)})
            return
        if now < self._next_report:
            return
        elapsed = now - self._started
        self._next_report = now + min(max(elapsed, self._first_report_after),
                                      REPORT_AT_MOST_EVERY_S)
        backlog = fields.get("backlog")
        self._log.error("%s still failing for %.0f s, backlog %s (%s)", self._what, elapsed,
                        backlog, describe(exc),
                        extra={**fields, "event": "store.still_failing",
                               "failing_seconds": round(elapsed, 1),
                               "attempts": self.attempts, "error": describe(exc)})

    def succeeded(self, **fields: Any) -> None:
        if self._started is None:
            return
        elapsed = self._clock() - self._started
        self._log.warning("%s: storage answers again after %.1f s and %d failed attempts",
                          self._what, elapsed, self.attempts,
                          extra={**fields, "event": "store.recovered",
                                 "failing_seconds": round(elapsed, 1),
                                 "attempts": self.attempts})
        self._started = None
        self.failing_since = None
        self.attempts = 0
