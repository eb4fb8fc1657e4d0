"""`/ws/{document_id}`: authenticate, authorise, then hand the socket to the document's room.

Refusals accept the socket and close it at once with a 44xx code, because a handshake refused
at the HTTP level reaches clients as a bare failure and they cannot tell why. A missing
document, a document without a grant and a bad ticket all close with the same 4404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocketState

from app import models
from app.admission import AdmissionBusy
from app.api.deps import SESSION_COOKIE, login_for_token
from app.close_codes import AccessCloseCode
from app.permissions import Access, document_access
from app.ratelimit import TokenBucket
from app.security import token_digest
from app.services import Services
from app.timeutil import utcnow
from app.ws_protocol import DIRECT_SEND, DirectSend
from crdt.connection import Disconnected, Rules, serve
from crdt.peer import Peer
from crdt.protocol import CloseCode

router = APIRouter()
log = logging.getLogger("widen.ws")


class WebSocketChannel:
    """Adapts Starlette's websocket to the connection's `Transport` seam; writes directly
    when the server offers it (`app.ws_protocol`)."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._direct: DirectSend | None = websocket.scope.get("extensions", {}).get(DIRECT_SEND)

    def send_now(self, data: bytes) -> bool:
        return self._direct is not None and self._direct(data)

    async def send(self, data: bytes) -> None:
        if self._direct is not None:
            await self._direct.writable()
        await self._websocket.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        if self._websocket.application_state is WebSocketState.CONNECTED:
            await self._websocket.close(code, reason)

    async def receive(self) -> bytes | str | Disconnected:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            return Disconnected(message.get("code"))
        data: bytes | None = message.get("bytes")
        return data if data is not None else str(message.get("text") or "")


@dataclass(frozen=True, slots=True)
class _Admitted:
    user: models.User
    # The login the socket belongs to: signing out closes it.
    login_id: str | None
    access: Access


@dataclass(frozen=True, slots=True)
class _Refused:
    code: int
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
                return _Refused(AccessCloseCode.NOT_FOUND, "not-found")
        else:
            token = websocket.cookies.get(SESSION_COOKIE)
            login = await login_for_token(session, token) if token else None
            if login is None:
                return _Refused(AccessCloseCode.UNAUTHORIZED, "signed-out: not signed in")
            user, login_id = login.user, login.session_id
            origin = (websocket.headers.get("origin") or "").rstrip("/")
            if origin not in services.settings.effective_origins:
                return _Refused(AccessCloseCode.FORBIDDEN, "origin: origin not allowed")
        access = await document_access(session, user.id, document_id)
        if access is None:
            return _Refused(AccessCloseCode.NOT_FOUND, "not-found")
        if not access.can_open_socket:
            return _Refused(AccessCloseCode.FORBIDDEN,
                            "progress-only: your role sees progress, not the text")
        refusals = services.limits.ws_refusals
        if (wait := await refusals.retry_after(_refusals_key(user.id, document_id))):
            return _Refused(AccessCloseCode.TOO_MANY_REQUESTS,
                            f"rate-limited: too many refused messages; try again in "
                            f"{math.ceil(wait)} s")
        cap = services.settings.max_connections_per_user
        if cap and await services.limits.sockets.count(user.id) >= cap:
            return _Refused(AccessCloseCode.TOO_MANY_REQUESTS,
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
        async with services.admissions.slot():
            admitted = await _admit(services, websocket, document_id)
    except AdmissionBusy:
        await websocket.accept()
        await websocket.close(CloseCode.TRY_AGAIN_LATER,
                              "try-later: the server is busy; reconnecting shortly")
        return
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
    channel = WebSocketChannel(websocket)
    peer = Peer(
        channel,
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
    ended = None
    try:
        ended = await serve(channel, room, peer, _rules(services))
        if ended.refused:
            await services.limits.ws_refusals.hit(_refusals_key(user_id, document_id))
    finally:
        connections.remove(user_id, admitted.login_id, peer)
        services.rooms.leave(room, peer)
        if peer.closing:
            # Let the permission-denied message and the close frame go out first.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await peer.wait_closed()
        peer.cancel()
        log.info("websocket left", extra={
            "event": "ws.left", "document_id": document_id, "connection": connection_id,
            "code": ended.code if ended is not None and ended.by_client else None})


def _refusals_key(user_id: str, document_id: str) -> str:
    return f"{user_id}:{document_id}"


def _rules(services: Services) -> Rules:
    """One connection's limits: the message size, and a rate with two seconds' worth of
    burst (a reconnect's sync, a paste)."""
    rate = services.settings.max_messages_per_second
    bucket = TokenBucket(rate, burst=2 * rate) if rate else None
    return Rules(max_message_bytes=services.settings.max_message_bytes,
                 refused_write_code=AccessCloseCode.FORBIDDEN,
                 throttled_code=AccessCloseCode.TOO_MANY_REQUESTS,
                 take_message=bucket.take if bucket is not None else None,
                 rate_description=f"more than {rate:g} messages a second")
