"""`/ws/events`: one live event channel per signed-in user (DESIGN §8), server to client only.

A browser authenticates with its session cookie from an allowed origin (as on `/ws`); any
other client with `Authorization: Bearer <token>`, which browsers cannot send cross-site. The
socket is subscribed to the user's broker channel (`app.event_fanout`) and says
`{"type": "ready"}`; from then on every event meant for the user arrives as one JSON text
frame. Events queue per connection up to `WIDEN_LIVE_EVENT_QUEUE`; a client that falls that far
behind is closed with 1013 `try-later` (it reconnects and refetches), never buffered without
bound. Signing out closes the login's channels with 4401. Channels count against
`WIDEN_MAX_CONNECTIONS_PER_USER` apart from document sockets: a user may hold that many of
each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from app.api.deps import SESSION_COOKIE, Login, login_for_token
from app.close_codes import AccessCloseCode
from app.event_fanout import user_channel
from app.services import Services
from crdt.peer import Peer
from crdt.protocol import CloseCode

router = APIRouter()
log = logging.getLogger("widen.events")

READY = json.dumps({"type": "ready"}).encode()


class _TextChannel:
    """Events are JSON: they go out as text frames."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    def send_now(self, data: bytes) -> bool:
        """Events are few: they always take the awaited path."""
        return False

    async def send(self, data: bytes) -> None:
        await self._websocket.send_text(data.decode())

    async def close(self, code: int, reason: str) -> None:
        if self._websocket.application_state is WebSocketState.CONNECTED:
            await self._websocket.close(code, reason)


@dataclass(frozen=True, slots=True)
class _Refused:
    code: int
    reason: str


async def _admit(services: Services, websocket: WebSocket) -> Login | _Refused:
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else ""
    token = bearer or websocket.cookies.get(SESSION_COOKIE)
    async with services.sessions() as session:
        login = await login_for_token(session, token) if token else None
    if login is None:
        return _Refused(AccessCloseCode.UNAUTHORIZED, "signed-out: not signed in")
    origin = (websocket.headers.get("origin") or "").rstrip("/")
    if not bearer and origin not in services.settings.effective_origins:
        return _Refused(AccessCloseCode.FORBIDDEN, "origin: origin not allowed")
    cap = services.settings.max_connections_per_user
    if cap and await services.limits.event_channels.count(login.user.id) >= cap:
        return _Refused(AccessCloseCode.TOO_MANY_REQUESTS,
                        f"too-many-connections: at most {cap} event channels per user")
    return login


@router.websocket("/ws/events")
async def event_socket(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    try:
        admitted = await _admit(services, websocket)
    except Exception:
        log.exception("event channel admission failed",
                      extra={"event": "events.admission_failed"})
        await websocket.accept()
        await websocket.close(CloseCode.INTERNAL_ERROR, "server-error: try again")
        return
    await websocket.accept()
    if isinstance(admitted, _Refused):
        await websocket.close(admitted.code, admitted.reason)
        return
    user_id, login_id = admitted.user.id, admitted.session_id
    label = f"events-{uuid.uuid4().hex[:12]}"
    peer = Peer(_TextChannel(websocket), origin=user_id, label=label,
                max_queued=services.settings.live_event_queue)
    services.event_connections.add(user_id, login_id, peer)
    subscription = await services.broker.subscribe(user_channel(user_id), peer.send)
    peer.send(READY)
    log.info("event channel opened", extra={"event": "events.opened", "user_id": user_id,
                                            "connection": label})
    try:
        while not peer.closing:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            # Nothing is read from the client: the channel is one-way.
            peer.close(CloseCode.UNSUPPORTED_DATA, "undecodable: this channel only sends")
    finally:
        await subscription.close()
        services.event_connections.remove(user_id, login_id, peer)
        if peer.closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await peer.wait_closed()
        peer.cancel()
        log.info("event channel closed", extra={"event": "events.closed", "connection": label})
