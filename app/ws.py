"""`/ws/{document_id}`: authenticate, authorise, then hand the socket to the document's room.
`DocumentSocketsApp` routes these sockets here, ahead of FastAPI's stack.

Refusals accept the socket and close it at once with a 44xx code, because a handshake refused
at the HTTP level reaches clients as a bare failure and they cannot tell why. A missing
document, a document without a grant and a bad ticket all close with the same 4404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets

from fastapi import FastAPI, WebSocket
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketState

from app.admission import AdmissionFailed
from app.api.deps import SESSION_COOKIE
from app.close_codes import AccessCloseCode
from app.ratelimit import TokenBucket
from app.services import Services
from app.ws_admission import Knock, Refused, Verdict
from app.ws_protocol import DIRECT_SEND, DirectSend
from crdt.batching import Shed
from crdt.connection import Disconnected, Rules, serve
from crdt.peer import Peer
from crdt.protocol import CloseCode

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


async def _admit(services: Services, websocket: WebSocket, document_id: str) -> Verdict:
    """Who is connecting, and may they open this document's text? The credentials and grant
    are checked with whoever else knocks meanwhile (`app.admission`); the limits of this one
    user, here."""
    verdict = await services.admissions(Knock(
        document_id,
        ticket=websocket.query_params.get("ticket") or None,
        cookie=websocket.cookies.get(SESSION_COOKIE),
        origin=(websocket.headers.get("origin") or "").rstrip("/")))
    if isinstance(verdict, Refused):
        return verdict
    user_id = verdict.user_id
    refusals = services.limits.ws_refusals
    if (wait := await refusals.retry_after(_refusals_key(user_id, document_id))):
        return Refused(AccessCloseCode.TOO_MANY_REQUESTS,
                       f"rate-limited: too many refused messages; try again in "
                       f"{math.ceil(wait)} s")
    cap = services.settings.max_connections_per_user
    if cap and await services.limits.sockets.count(user_id) >= cap:
        return Refused(AccessCloseCode.TOO_MANY_REQUESTS,
                       f"too-many-connections: at most {cap} open documents per user")
    return verdict


async def document_socket(websocket: WebSocket, document_id: str) -> None:
    services: Services = websocket.app.state.services
    try:
        admitted = await _admit(services, websocket, document_id)
    except Shed:
        await websocket.accept()
        await websocket.close(CloseCode.TRY_AGAIN_LATER,
                              "try-later: the server is busy; reconnecting shortly")
        return
    except Exception as exc:
        # The database or the limits' store is unreachable, say: a client should retry, not
        # give up. A batch that failed was logged once, by the gate.
        if not isinstance(exc, AdmissionFailed):
            log.exception("websocket admission failed", extra={"event": "ws.admission_failed",
                                                               "document_id": document_id})
        await websocket.accept()
        await websocket.close(CloseCode.INTERNAL_ERROR, "server-error: try again")
        return
    await websocket.accept()
    if isinstance(admitted, Refused):
        log.info("websocket refused", extra={"event": "ws.refused", "document_id": document_id,
                                             "code": int(admitted.code)})
        await websocket.close(admitted.code, admitted.reason)
        return

    user_id = admitted.user_id
    connection_id = secrets.token_hex(6)
    channel = WebSocketChannel(websocket)
    peer = Peer(
        channel,
        origin=user_id,
        scope=admitted.write_scope,
        identity={"id": user_id, "name": admitted.user_name},
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


class DocumentSocketsApp(FastAPI):
    """The app, handing a websocket to `/ws/{document_id}` straight to `document_socket`.
    Through FastAPI each went down its middleware stack and was matched against every route in
    turn, none of which does anything for these sockets: in a reconnect storm about a tenth of
    the server's time, and each open socket kept that stack's coroutines, about 2 KB."""

    PATH = "/ws/{document_id}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        document_id = _document_id(scope["path"]) if scope["type"] == "websocket" else None
        if document_id is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what `WebSocket.app` reads (Starlette sets it on its way in)
        await document_socket(WebSocket(scope, receive, send), document_id)


def _document_id(path: str) -> str | None:
    """The `{document_id}` of `/ws/{document_id}` (one path segment, as the route matched it);
    None for any other path, `/ws/events` included (`app.event_channel`)."""
    prefix, _, document_id = path.partition("/ws/")
    if prefix or not document_id or "/" in document_id or document_id == "events":
        return None
    return document_id


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
