"""When a changed document comes due for search indexing (`app.search.indexer`): never later
than the delay after the change, and at the same moment as the others changed within the same
fifth of it, so they are indexed together."""

from __future__ import annotations

import pytest

from app.search.indexer import _aligned_delay


@pytest.mark.parametrize("delay", [0.2, 5.0, 60.0])
def test_due_within_the_delay_and_together_with_changes_of_the_same_fifth(delay: float) -> None:
    fifth = delay / 5
    start = 1000 * fifth + 0.37 * fifth  # inside one fifth of the grid
    dues = {round(now + _aligned_delay(now, delay), 9)
            for now in (start + step * fifth / 10 for step in range(5))}
    assert len(dues) == 1, dues
    for step in range(200):
        now = 1000.0 + step * delay / 37
        wait = _aligned_delay(now, delay)
        assert delay * 0.8 - 1e-9 <= wait <= delay, (now, wait)


def test_a_document_due_now_waits_for_nothing() -> None:
    assert _aligned_delay(123.4, 0) == 0.0
