""""Since you last looked": what moved on a progress page between two of my visits.

Each visit keeps a snapshot of the page's figures (section titles and statuses, words,
member ids, flags: nothing a `progress` member may not see) in `models.ProgressVisit`. The
page compares the present with the snapshot of the previous visit. Loads closer together
than `WIDEN_PROGRESS_VISIT_GAP_SECONDS` are one visit, so a page refetching live, or
reloaded, keeps its summary instead of comparing itself with itself a second later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.api.schemas import NewMember, SinceOut, StatusChange


def snapshot(sections: list[tuple[str, str, str]], words: int | None, members: list[str],
             flags: list[str]) -> dict[str, Any]:
    """`sections`: (id, title, status) of each live section."""
    return {"sections": {i: [title, status] for i, title, status in sections},
            "words": words, "members": sorted(members), "flags": flags}


async def visit(session: AsyncSession, document_id: str, user_id: str,
                now: datetime, current: dict[str, Any],
                gap: timedelta) -> tuple[datetime | None, dict[str, Any] | None]:
    """Record this load; return the previous visit's time and snapshot (None, None on the
    first)."""
    row = await session.get(models.ProgressVisit, (document_id, user_id))
    if row is None:
        session.add(models.ProgressVisit(document_id=document_id, user_id=user_id,
                                         current_at=now, current=current))
        await session.flush()
        return None, None
    if now - row.current_at >= gap:
        row.previous_at, row.previous = row.current_at, row.current
    row.current_at, row.current = now, current
    await session.flush()
    return row.previous_at, row.previous


def moved(previous_at: datetime | None, before: dict[str, Any] | None,
          now: dict[str, Any], names: dict[str, str]) -> SinceOut:
    """What differs between the previous visit's snapshot and the present one."""
    if before is None:
        return SinceOut(previous_visit=None, status_changes=[], new_sections=[],
                        words_before=None, words_delta=None, new_members=[], flags_raised=[],
                        flags_cleared=[])
    then_sections: dict[str, list[str]] = before.get("sections", {})
    now_sections: dict[str, list[str]] = now["sections"]
    changes = [StatusChange(section_id=i, title=title, before=then_sections[i][1], after=status)
               for i, (title, status) in now_sections.items()
               if i in then_sections and then_sections[i][1] != status]
    words_before = before.get("words")
    words_now = now["words"]
    then_members = set(before.get("members", []))
    then_flags = set(before.get("flags", []))
    return SinceOut(
        previous_visit=previous_at,
        status_changes=changes,
        new_sections=[title for i, (title, _) in now_sections.items() if i not in then_sections],
        words_before=words_before,
        words_delta=(words_now - words_before
                     if words_now is not None and words_before is not None else None),
        new_members=[NewMember(user_id=m, name=names[m]) for m in now["members"]
                     if m not in then_members and m in names],
        flags_raised=[f for f in now["flags"] if f not in then_flags],
        flags_cleared=[f for f in before.get("flags", []) if f not in now["flags"]],
    )
