"""`/ws/{document_id}`: authenticate, authorise, then hand the socket to the document's room.

Refusals accept the socket and close it at once with a 44xx code, because a handshake refused
at the HTTP level reaches clients as a bare failure and they cannot tell why. A missing
document, a document without a grant and a bad ticket all close with the same 4404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketState

from app import models
from app.api.deps import SESSION_COOKIE, login_for_token
from app.permissions import Access, document_access
from app.ratelimit import TokenBucket
from app.security import token_digest
from app.services import Services
from app.timeutil import utcnow
from crdt.guard import WriteRejected
from crdt.peer import Peer
from crdt.protocol import CloseCode, ProtocolError
from crdt.room import Room

router = APIRouter()
log = logging.getLogger("widen.ws")
# How long a refusal waits for the answers owed before it (`_settle`).
SETTLE_BEFORE_CLOSE_SECONDS = 5.0


class WebSocketChannel:
    """Adapts Starlette's websocket to the room's `Channel` seam."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send(self, data: bytes) -> None:
        await self._websocket.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        if self._websocket.application_state is WebSocketState.CONNECTED:
            await self._websocket.close(code, reason)


@dataclass(frozen=True, slots=True)
class _Admitted:
    user: models.User
    # The login the socket belongs to: signing out closes it.
    login_id: str | None
    access: Access


@dataclass(frozen=True, slots=True)
class _Refused:
    code: CloseCode
    reason: str


async def _admit(
    services: Services, websocket: WebSocket, document_id: str
) -> _Admitted | _Refused:
    """Who is connecting, and may they open this document's text?"""
    ticket = websocket.query_params.get("ticket")
    async with services.sessions() as session, session.begin():
        if ticket:
            used = (await session.execute(
                update(models.WsTicket)
                .where(
                    models.WsTicket.token_hash == token_digest(ticket),
                    models.WsTicket.document_id == document_id,
                    models.WsTicket.used_at.is_(None),
                    models.WsTicket.expires_at > utcnow(),
                )
                .values(used_at=utcnow())
                .returning(models.WsTicket.user_id, models.WsTicket.session_id)
            )).one_or_none()
            user = await session.get(models.User, used.user_id) if used else None
            login_id = used.session_id if used else None
            # A ticket lives no longer than its login (tickets from before logins were
            # recorded have none, and last their minute).
            if user is None or (login_id is not None
                                and not await _login_active(session, login_id)):
                return _Refused(CloseCode.NOT_FOUND, "not-found")
        else:
            token = websocket.cookies.get(SESSION_COOKIE)
            login = await login_for_token(session, token) if token else None
            if login is None:
                return _Refused(CloseCode.UNAUTHORIZED, "signed-out: not signed in")
            user, login_id = login.user, login.session_id
            origin = (websocket.headers.get("origin") or "").rstrip("/")
            if origin not in services.settings.effective_origins:
                return _Refused(CloseCode.FORBIDDEN, "origin: origin not allowed")
        access = await document_access(session, user.id, document_id)
        if access is None:
            return _Refused(CloseCode.NOT_FOUND, "not-found")
        if not access.can_open_socket:
            return _Refused(CloseCode.FORBIDDEN,
                            "progress-only: your role sees progress, not the text")
        cap = services.settings.max_connections_per_user
        if cap and services.connections.count(user.id) >= cap:
            return _Refused(CloseCode.TOO_MANY_REQUESTS,
                            f"too-many-connections: at most {cap} open documents per user")
        return _Admitted(user, login_id, access)


async def _login_active(session: AsyncSession, login_id: str) -> bool:
    return await session.scalar(
        select(models.Session.id).where(models.Session.id == login_id,
                                        models.Session.revoked_at.is_(None),
                                        models.Session.expires_at > utcnow())) is not None


@router.websocket("/ws/{document_id}")
async def document_socket(websocket: WebSocket, document_id: str) -> None:
    services: Services = websocket.app.state.services
    try:
        admitted = await _admit(services, websocket, document_id)
    except Exception:
        # The database is unreachable, say: a client should retry, not give up.
        log.exception("websocket admission failed", extra={"event": "ws.admission_failed",
                                                           "document_id": document_id})
        await websocket.accept()
        await websocket.close(CloseCode.INTERNAL_ERROR, "server-error: try again")
        return
    await websocket.accept()
    if isinstance(admitted, _Refused):
        log.info("websocket refused", extra={"event": "ws.refused", "document_id": document_id,
                                             "code": int(admitted.code)})
        await websocket.close(admitted.code, admitted.reason)
        return

    user_id = admitted.user.id
    connection_id = uuid.uuid4().hex[:12]
    peer = Peer(
        WebSocketChannel(websocket),
        origin=user_id,
        scope=admitted.access.write_scope(),
        identity={"id": user_id, "name": admitted.user.name},
        label=connection_id,
    )
    connections = services.connections
    connections.add(user_id, admitted.login_id, peer)
    try:
        room = await services.rooms.join(document_id, peer)
    except Exception:
        log.exception("document failed to load", extra={"event": "ws.load_failed",
                                                        "document_id": document_id})
        connections.remove(user_id, admitted.login_id, peer)
        peer.cancel()
        await websocket.close(CloseCode.INTERNAL_ERROR, "server-error: try again")
        return
    log.info("websocket joined", extra={"event": "ws.joined", "document_id": document_id,
                                        "user_id": user_id, "connection": connection_id})
    limit = services.settings.max_message_bytes
    rate = services.settings.max_messages_per_second
    # Two seconds' worth of burst: a reconnect's sync, a paste.
    bucket = TokenBucket(rate, burst=2 * rate) if rate else None
    close_code = None
    try:
        while not peer.closing:
            message = await websocket.receive()
            if peer.closing:
                break
            if message["type"] == "websocket.disconnect":
                close_code = message.get("code")
                break
            data = message.get("bytes")
            if data is None:
                raise ProtocolError("undecodable: text frames are not part of the protocol",
                                    CloseCode.UNSUPPORTED_DATA)
            if len(data) > limit:
                # Size and limit in the reason: the page tells its user both (a paste too big).
                raise ProtocolError(f"too-big: a message of {len(data):,} bytes is over the limit "
                                    f"of {limit:,} bytes", CloseCode.MESSAGE_TOO_BIG)
            if bucket is not None and not bucket.take():
                raise ProtocolError(f"rate-limited: more than {rate:g} messages a second",
                                    CloseCode.TOO_MANY_REQUESTS)
            room.receive(peer, data)
            if services.store.saturated:
                await services.store.drained()
    except WriteRejected as exc:
        # An authorization failure: who, where, which roots; never the update's content.
        log.warning("write rejected; closing connection",
                    extra={"event": "ws.write_rejected", "document_id": document_id,
                           "user_id": user_id, "connection": connection_id,
                           "reason": exc.reason, "roots": sorted(exc.roots)})
        await _settle(room, peer)
        peer.deny(exc.code, exc.reason)
        await peer.wait_closed()
    except ProtocolError as exc:
        log.warning("protocol error; closing connection",
                    extra={"event": "ws.protocol_error", "document_id": document_id,
                           "user_id": user_id, "connection": connection_id,
                           "reason": exc.reason, "code": int(exc.code)})
        await _settle(room, peer)
        peer.close(exc.code, exc.reason)
        await peer.wait_closed()
    except Exception:
        # A bug of ours, not the client's fault: logged whole, and the client told to come
        # back (1011) rather than dropped without a close frame; the room carries on.
        log.exception("message failed; closing connection",
                      extra={"event": "ws.server_error", "document_id": document_id,
                             "user_id": user_id, "connection": connection_id})
        await _settle(room, peer)
        peer.close(CloseCode.INTERNAL_ERROR, "server-error: try again")
        await peer.wait_closed()
    finally:
        connections.remove(user_id, admitted.login_id, peer)
        services.rooms.leave(room, peer)
        if peer.closing:
            # Let the permission-denied message and the close frame go out first.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await peer.wait_closed()
        peer.cancel()
        log.info("websocket left", extra={"event": "ws.left", "document_id": document_id,
                                          "connection": connection_id, "code": close_code})


async def _settle(room: Room, peer: Peer) -> None:
    """The answers owed for the messages before a refused one go out first, unless storage
    takes too long to commit what they show: the refusal is not held up for long."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_BEFORE_CLOSE_SECONDS):
            await room.settle(peer)
