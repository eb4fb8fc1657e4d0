"""The pure parts of progress: the dashboard's trend, the activity kept with each count, the
flags, and what "since you last looked" reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app import indicators
from app.api.schemas import (
    BalanceOut,
    ConcentrationOut,
    FlagOut,
    Indicators,
    MemberProgress,
    ProgressOut,
)
from app.progress_days import activity, trend
from app.progress_report import since, snapshot

DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(5)]


def test_trend_carries_the_last_count_and_is_null_before_the_first() -> None:
    assert trend({DAYS[1]: 10, DAYS[3]: 14}, DAYS) == [None, 10, 10, 14, 14]
    assert trend({date(2026, 10, 1): 7, DAYS[2]: 9}, DAYS) == [7, 7, 9, 9, 9]
    assert trend({}, DAYS) == [None] * 5


def test_activity_dates_edits_by_any_row_and_writing_by_rows_with_updates() -> None:
    rows = [
        {"origin": "a", "root": "section:1", "updates": 3, "last_at": 100},
        {"origin": "a", "root": "section:1", "updates": 1, "last_at": 300},
        {"origin": "b", "root": "section:2", "updates": 0, "last_at": 500},
    ]
    done = activity(rows)
    assert done.section_edits == {"section:1": 300, "section:2": 500}
    assert done.writers == {"a": 300}


def test_flags_in_a_fixed_order_each_explained() -> None:
    assert indicators.flags(late=0, stalled=0, concentrated=False, silent=0) == []
    raised = indicators.flags(late=2, stalled=1, concentrated=True, silent=1)
    assert raised == ["late", "stalled", "concentrated", "silent"]
    assert all(indicators.FLAG_EXPLANATIONS[f] for f in raised)


def _report(members: list[tuple[str, str | None, int]], flags: list[str]) -> ProgressOut:
    return ProgressOut(
        document_id="d", title="T", role="owner", sections_total=0, sections_done=0,
        words_total=0, next_due=None, last_edit_at=None, sections=[], contributors=[],
        members=[MemberProgress(user_id=i, name=i.upper(), role=role, chars_inserted=chars,
                                chars_deleted=0, words_added=chars // 2, words_removed=1,
                                updates=1, chars_current=chars, share=None,
                                last_active=None) for i, role, chars in members],
        activity=[], words_series=[],
        indicators=Indicators(
            concentration=ConcentrationOut(top_user_id=None, share=None, writers=1,
                                           flagged=False, explanation="-"),
            silent_members=[], balance=BalanceOut(gini=None, explanation="-"),
            follow_through=[]),
        flags=[FlagOut(flag=f, explanation="-") for f in flags])  # type: ignore[arg-type]


def test_since_names_new_members_and_the_flags_raised_and_cleared() -> None:
    then = snapshot(_report([("a", "owner", 5)], ["late"]))
    now = _report([("a", "owner", 9), ("b", "editor", 0), ("x", None, 4)], ["silent"])
    moved = since(then, datetime(2026, 11, 1, tzinfo=UTC), now)
    # A former member whose writing still counts is not a new member.
    assert [m.name for m in moved.new_members] == ["B"]
    assert (moved.flags_raised, moved.flags_cleared) == (["silent"], ["late"])
    assert moved.active_user_ids == ["a", "x"]
    # A snapshot from before members and flags were kept reports neither as moved.
    old = {k: v for k, v in then.items() if k not in ("member_ids", "flags")}
    moved = since(old, datetime(2026, 11, 1, tzinfo=UTC), now)
    assert (moved.new_members, moved.flags_raised, moved.flags_cleared) == ([], [], [])


def test_since_counts_words_added_and_removed_and_not_before_they_were_kept() -> None:
    then = snapshot(_report([("a", "owner", 4)], []))
    now = _report([("a", "owner", 10), ("b", "editor", 6)], [])
    moved = since(then, datetime(2026, 11, 1, tzinfo=UTC), now)
    assert (moved.chars_inserted, moved.words_added, moved.words_removed) == (12, 6, 1)
    # A snapshot from before words were kept: members it knew moved by no word.
    old = {**then, "members": {"a": [4, 0]}}
    moved = since(old, datetime(2026, 11, 1, tzinfo=UTC), now)
    assert (moved.chars_inserted, moved.words_added, moved.words_removed) == (12, 3, 1)
