"""Grant changes reach open connections at once.

Before a change commits, connections get the narrower of their old and new scope (so nothing
widens early and a revocation bites immediately). Once it has committed, a revoked member's
sockets close with 4403, and any other changed member's with 4409 "access changed": the client
reconnects under its new role and its page can re-read what it may now do. The websocket loop
checks `peer.closing` after every receive, so nothing sent after this point is applied.
"""

from __future__ import annotations

from app.close_codes import AccessCloseCode
from app.permissions import Access, narrower
from crdt.guard import WriteScope
from crdt.rooms import Rooms


def _refusal(new: Access | None) -> str | None:
    """Why the user may no longer hold the socket at all, if that is the case."""
    if new is None:
        return "revoked: your access was revoked"
    if not new.can_open_socket:
        return "progress-only: your access changed to progress only"
    return None


def restrict_now(rooms: Rooms, document_id: str, user_id: str, new: Access | None) -> None:
    if (reason := _refusal(new)) is not None:
        rooms.disconnect(document_id, user_id, AccessCloseCode.FORBIDDEN, reason, denied=True)
        return
    assert new is not None
    scope = new.write_scope()

    def narrowed(old: WriteScope) -> WriteScope:
        return narrower(old, scope)

    rooms.narrow(document_id, user_id, narrowed)


def shut_document(rooms: Rooms, document_id: str) -> None:
    """The document no longer exists for anyone (it went into the trash): every socket closes
    as for a missing document. Called before the change commits and again after, for a socket
    admitted in between."""
    rooms.close_room(document_id, AccessCloseCode.NOT_FOUND, "not-found: the document was deleted")


def apply_committed(rooms: Rooms, document_id: str, user_id: str, new: Access | None) -> None:
    if (reason := _refusal(new)) is not None:
        rooms.disconnect(document_id, user_id, AccessCloseCode.FORBIDDEN, reason, denied=True)
    else:
        rooms.disconnect(document_id, user_id, AccessCloseCode.ACCESS_CHANGED,
                         "access-changed: reconnect to continue with your new access")
