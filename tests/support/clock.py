"""The server's test clock (`WIDEN_TEST_CLOCK_FILE`, `app.timeutil`): a file holding an
offset in seconds, which a test moves while the server runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path


class TestClock:
    __test__ = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = timedelta()
        self._write()

    def settings(self) -> dict[str, str]:
        """For `start_server(**clock.settings())`."""
        return {"test_clock_file": str(self.path), "test_clock_allowed": "1"}

    def advance(self, *, days: float = 0, seconds: float = 0) -> None:
        self.offset += timedelta(days=days, seconds=seconds)
        self._write()

    def today(self) -> date:
        """The server's date now."""
        return (datetime.now(UTC) + self.offset).date()

    def _write(self) -> None:
        # Written whole, then renamed: the server never reads half an offset.
        partial = self.path.with_suffix(".partial")
        partial.write_text(str(self.offset.total_seconds()))
        partial.replace(self.path)
