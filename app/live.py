"""Grant changes and sign-outs reach open connections at once, on every process.

Before a change commits, connections get the narrower of their old and new scope (so nothing
widens early and a revocation bites immediately). Once it has committed, a revoked member's
sockets close with 4403, and any other changed member's with 4409 "access changed": the client
reconnects under its new role and its page can re-read what it may now do. The websocket loop
checks `peer.closing` after every receive, so nothing sent after this point is applied.

Each step acts on this process's connections at once and goes, as a command on the broker's
control channel, to every other process, which does the same to its own (DESIGN §6
"Multi-process": revocations and role changes are published so the process holding a connection
closes it). With one process the broker carries nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.close_codes import AccessCloseCode
from app.connections import Connections
from app.permissions import Access, narrower
from crdt.broker import Broker, Subscription
from crdt.guard import WriteScope
from crdt.rooms import Rooms

log = logging.getLogger("widen.live")

CONTROL_CHANNEL = "widen:control"


def _refusal(new: Access | None) -> str | None:
    """Why the user may no longer hold the socket at all, if that is the case."""
    if new is None:
        return "revoked: your access was revoked"
    if not new.can_open_socket:
        return "progress-only: your access changed to progress only"
    return None


class LiveAccess:
    def __init__(self, rooms: Rooms, connections: Connections,
                 event_connections: Connections, broker: Broker) -> None:
        self._rooms = rooms
        self._connections = connections
        self._event_connections = event_connections
        self._broker = broker
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._broker.subscribe(CONTROL_CHANNEL, self._received)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    def restrict_now(self, document_id: str, user_id: str, new: Access | None) -> None:
        if (reason := _refusal(new)) is not None:
            self._do(op="disconnect", document_id=document_id, user_id=user_id,
                     code=AccessCloseCode.FORBIDDEN, reason=reason, denied=True)
            return
        assert new is not None
        roots = new.write_scope().roots
        self._do(op="narrow", document_id=document_id, user_id=user_id,
                 roots=None if roots is None else sorted(roots))

    def apply_committed(self, document_id: str, user_id: str, new: Access | None) -> None:
        if (reason := _refusal(new)) is not None:
            self._do(op="disconnect", document_id=document_id, user_id=user_id,
                     code=AccessCloseCode.FORBIDDEN, reason=reason, denied=True)
        else:
            self._do(op="disconnect", document_id=document_id, user_id=user_id,
                     code=AccessCloseCode.ACCESS_CHANGED,
                     reason="access-changed: reconnect to continue with your new access",
                     denied=False)

    def shut_document(self, document_id: str) -> None:
        """The document no longer exists for anyone (it went into the trash): every socket
        closes as for a missing document. Called before the change commits and again after,
        for a socket admitted in between."""
        self._do(op="shut", document_id=document_id)

    def sign_out(self, login_id: str) -> None:
        """Close every socket the login opened, document and event channel alike."""
        self._do(op="sign_out", login_id=login_id)

    def sign_out_everywhere(self, user_id: str) -> None:
        """Close every socket of the user, whichever login opened it (a password reset)."""
        self._do(op="sign_out_everywhere", user_id=user_id)

    def _do(self, **command: Any) -> None:
        self._apply(command)
        self._broker.post(CONTROL_CHANNEL, json.dumps(command).encode())

    def _received(self, message: bytes) -> None:
        try:
            command = json.loads(message)
            self._apply(command)
        except (ValueError, KeyError, TypeError):
            log.exception("unreadable command from another process",
                          extra={"event": "live.bad_command", "bytes": len(message)})

    def _apply(self, command: dict[str, Any]) -> None:
        match command["op"]:
            case "disconnect":
                self._rooms.disconnect(command["document_id"], command["user_id"],
                                       command["code"], command["reason"],
                                       denied=command["denied"])
            case "narrow":
                roots = command["roots"]
                scope = WriteScope(None if roots is None else frozenset(roots))

                def narrowed(old: WriteScope) -> WriteScope:
                    return narrower(old, scope)

                self._rooms.narrow(command["document_id"], command["user_id"], narrowed)
            case "shut":
                self._rooms.close_room(command["document_id"], AccessCloseCode.NOT_FOUND,
                                       "not-found: the document was deleted")
            case "sign_out":
                self._connections.sign_out(command["login_id"])
                self._event_connections.sign_out(command["login_id"])
            case "sign_out_everywhere":
                self._connections.sign_out_everywhere(command["user_id"])
                self._event_connections.sign_out_everywhere(command["user_id"])
            case unknown:
                raise KeyError(f"unknown command {unknown!r}")
