"""Committed changes become events on each entitled user's channel (`app.events`).

Who hears a change, and what of it, is decided here against the committed state and the
policy (`app.permissions`): a stranger hears nothing of a document, a `progress` member nothing
of its comments, a member only the sharing log their own log view shows, and someone whose
access was just revoked only that it was. Each user's events go to the broker channel
`widen:user:<id>`, so a process holding that user's sockets delivers them, wherever the change
was made.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import log_view
from app.events import Audience, Change
from app.permissions import Access, members_of_documents
from crdt.broker import Broker

log = logging.getLogger("widen.events")


def user_channel(user_id: str) -> str:
    return f"widen:user:{user_id}"


def _hears(access: Access, audience: Audience) -> bool:
    match audience:
        case Audience.MEMBERS:
            return True
        case Audience.TEXT_READERS:
            return access.can_read_comments
        case Audience.OWNER:
            return access.can_manage
        case Audience.NOBODY:
            return False


class EventFanout:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], broker: Broker) -> None:
        self._sessions = sessions
        self._broker = broker

    async def publish(self, changes: Sequence[Change]) -> None:
        """Tell everyone entitled of changes that have committed. A failure here is logged and
        not raised: the change itself stands, and a page resyncs when its channel reconnects."""
        if not changes:
            return
        try:
            async with self._sessions() as session:
                for user_id, event in await self._events(session, changes):
                    await self._broker.publish(user_channel(user_id),
                                               json.dumps(event, default=str).encode())
        except Exception:
            log.exception("live events not published",
                          extra={"event": "events.publish_failed",
                                 "documents": sorted({c.document_id for c in changes})})

    async def _events(self, session: AsyncSession,
                      changes: Sequence[Change]) -> list[tuple[str, dict[str, Any]]]:
        members = await members_of_documents(session, {c.document_id for c in changes})
        out: list[tuple[str, dict[str, Any]]] = []
        for change in changes:
            current = members[change.document_id]
            base = {"type": change.type, "document_id": change.document_id, **change.data}
            if change.former_members is not None:
                out.extend((user_id, base) for user_id in change.former_members)
                continue
            if change.log_event is not None:
                out.extend(await _timeline(session, change, current))
                continue
            told = [user_id for user_id, access in current.items()
                    if _hears(access, change.audience)]
            told += [user_id for user_id in change.also_tell if user_id not in told]
            out.extend((user_id, base) for user_id in told)
        return out


async def _timeline(session: AsyncSession, change: Change,
                    members: dict[str, Access]) -> list[tuple[str, dict[str, Any]]]:
    """The step as each member's own log shows it: the owner's view, or every other member's."""
    assert change.log_event is not None
    if not members:
        return []
    events = await log_view.history(session, change.document_id)
    step = next((e for e in events if e.id == change.log_event.id), None)
    if step is None:
        return []
    rendered: dict[bool, dict[str, Any]] = {}
    out: list[tuple[str, dict[str, Any]]] = []
    for user_id, access in members.items():
        if access.can_manage not in rendered:
            entry = (await log_view.render(session, access, events, [step]))[0]
            rendered[access.can_manage] = {"type": "timeline", "document_id": change.document_id,
                                           "entry": entry.model_dump(mode="json")}
        out.append((user_id, rendered[access.can_manage]))
    return out
