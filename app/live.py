"""Grant changes reach open connections at once.

Before a change commits, connections get the narrower of their old and new scope (so nothing
widens early and a revocation bites immediately). Once it has committed, a revoked member's
sockets close with 4403, and any other changed member's with 4409 "access changed": the client
reconnects under its new role and its page can re-read what it may now do. The websocket loop
checks `peer.closing` after every receive, so nothing sent after this point is applied.
"""

from __future__ import annotations

from app.permissions import Access, narrower
from crdt.peer import Peer
from crdt.protocol import CloseCode, create_permission_denied_message
from crdt.rooms import Rooms


def _peers_of(rooms: Rooms, document_id: str, user_id: str) -> list[Peer]:
    room = rooms.get(document_id)
    if room is None:
        return []
    return [peer for peer in room.peers if peer.origin == user_id and not peer.closing]


def deny(peer: Peer, reason: str) -> None:
    peer.send(create_permission_denied_message(reason))
    peer.close(CloseCode.FORBIDDEN, reason)


def _refusal(new: Access | None) -> str | None:
    """Why the user may no longer hold the socket at all, if that is the case."""
    if new is None:
        return "access revoked"
    if not new.can_open_socket:
        return "access changed: progress only"
    return None


def restrict_now(rooms: Rooms, document_id: str, user_id: str, new: Access | None) -> None:
    for peer in _peers_of(rooms, document_id, user_id):
        if (reason := _refusal(new)) is not None:
            deny(peer, reason)
        else:
            assert new is not None
            peer.scope = narrower(peer.scope, new.write_scope())


def apply_committed(rooms: Rooms, document_id: str, user_id: str, new: Access | None) -> None:
    for peer in _peers_of(rooms, document_id, user_id):
        if (reason := _refusal(new)) is not None:
            deny(peer, reason)
        else:
            peer.close(CloseCode.ACCESS_CHANGED, "access changed")
