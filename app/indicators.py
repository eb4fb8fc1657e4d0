"""The honest indicators of a document's progress, from numbers only (never its text).

Each takes what `app.api.progress` gathered (attribution rows, surviving characters per user,
members, comments, progress views) and returns a figure with a one-line explanation a manager
can read. Pure functions: the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from app.models import SectionStatus

Schedule = Literal["done", "late", "stalled", "on_track"]

# One person wrote at least this share of the current text of a document ...
CONCENTRATION_SHARE = 0.9
# ... that has at least this many members with write access: flagged.
CONCENTRATION_MIN_WRITERS = 3


def gini(values: Iterable[int]) -> float | None:
    """The Gini coefficient of `values` (0: all equal; near 1: one holds everything), or None
    when they are all zero or there are none."""
    ordered = sorted(values)
    total = sum(ordered)
    if not ordered or total == 0:
        return None
    count = len(ordered)
    weighted = sum((2 * rank - count - 1) * value for rank, value in enumerate(ordered, start=1))
    return weighted / (count * total)


@dataclass(frozen=True, slots=True)
class Concentration:
    top_user_id: str | None
    share: float | None
    writers: int
    flagged: bool
    explanation: str


def concentration(surviving_by_user: Mapping[str, int], total: int,
                  writers: int) -> Concentration:
    """How much of the current text its top author wrote. `total` counts every character of
    the current text, whoever wrote it (so an unknown author's text lowers every share)."""
    if total == 0 or not surviving_by_user:
        return Concentration(None, None, writers, False,
                             "No text yet, so nobody's share can be measured.")
    top_user_id, top = max(surviving_by_user.items(), key=lambda item: (item[1], item[0]))
    share = top / total
    flagged = writers >= CONCENTRATION_MIN_WRITERS and share >= CONCENTRATION_SHARE
    percent = round(share * 100)
    if flagged:
        explanation = (f"One person wrote {percent}% of the current text, although {writers} "
                       "members can write: the work rests on one pair of hands.")
    else:
        explanation = (f"The top author wrote {percent}% of the current text; flagged at "
                       f"{round(CONCENTRATION_SHARE * 100)}% or more when at least "
                       f"{CONCENTRATION_MIN_WRITERS} members can write.")
    return Concentration(top_user_id, share, writers, flagged, explanation)


def balance_explanation(value: float | None) -> str:
    if value is None:
        return "No text yet, so there is no balance to measure."
    return (f"Gini coefficient {value:.2f} of the current text per member who can write: 0 "
            "means everyone wrote the same amount, values near 1 that one person wrote it all.")


def schedule(status: str, due: date | None, last_activity: datetime, now: datetime,
             stalled_days: int) -> Schedule:
    """done, late (past its due date), stalled (no edit for `stalled_days` days) or on_track."""
    if status == SectionStatus.DONE:
        return "done"
    if due is not None and due < now.date():
        return "late"
    if now - last_activity >= timedelta(days=stalled_days):
        return "stalled"
    return "on_track"


FOLLOW_THROUGH_EXPLANATIONS = {
    "review": ("invited to review: has commented", "invited to review: no comment yet"),
    "expertise": ("invited for their expertise: has written",
                  "invited for their expertise: has not written yet"),
    "help": ("invited to help: has written", "invited to help: has not written yet"),
    "progress": ("invited to follow progress: has opened the progress page",
                 "invited to follow progress: has not opened the progress page yet"),
    "other": ("invited: has been active", "invited: no activity yet"),
}


def followed_through(reason: str, *, wrote: bool, commented: bool, viewed: bool) -> bool:
    """Whether an invitee did what they were invited for (`wrote`: in their sections if
    their grant is scoped)."""
    if reason == "review":
        return commented
    if reason in ("expertise", "help"):
        return wrote
    if reason == "progress":
        return viewed
    return wrote or commented or viewed


Flag = Literal["late", "stalled", "concentrated", "silent"]

# What each flag on a document means, in one line (the dashboard's legend).
FLAG_EXPLANATIONS: dict[Flag, str] = {
    "late": "a section is past its due date and not done",
    "stalled": "a section not done has had no edit for a while",
    "concentrated": "one person wrote nearly all of the current text",
    "silent": "a member invited to write or review has done neither",
}


def flags(*, late: int, stalled: int, concentrated: bool, silent: int) -> list[Flag]:
    """A document's flags, in a fixed order, from its counts."""
    raised: list[Flag] = []
    if late:
        raised.append("late")
    if stalled:
        raised.append("stalled")
    if concentrated:
        raised.append("concentrated")
    if silent:
        raised.append("silent")
    return raised
