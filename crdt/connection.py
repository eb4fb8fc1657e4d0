"""One client's connection to a room, from its first message to its close.

The app decides who connects and what they may write (the `Peer`'s identity and write scope)
and hears how the connection ended; everything in between is here: reading messages, the size
and rate limits, handing each message to the room, waiting while the store catches up
(backpressure), and closing with the reason the client must hear, after the answers owed for
the messages before the refused one. The app names the codes of its own refusals (`Rules`):
the 44xx codes are its vocabulary, the 1xxx ones the protocol's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from crdt.guard import WriteRejected
from crdt.peer import Channel, Peer
from crdt.protocol import CloseCode, ProtocolError
from crdt.room import Room

log = logging.getLogger("widen.connection")


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The client closed the connection (or it dropped); `code` is what the client sent."""
    code: int | None


class Transport(Channel, Protocol):
    async def receive(self) -> bytes | str | Disconnected:
        """The next message: binary, text, or the end of the connection."""


@dataclass(frozen=True, slots=True)
class Rules:
    """What the app decides about every connection of a kind."""
    max_message_bytes: int
    # The close code for a write outside the connection's rights, and for a throttled one.
    refused_write_code: int
    throttled_code: int
    # Spends one message of the connection's allowance; False: over it. None: unlimited.
    take_message: Callable[[], bool] | None = None
    rate_description: str = ""
    # How long a refusal waits for the answers owed before it: they wait for a commit, which
    # storage bounds by failing (then they go out anyway), so this only guards against a hang.
    settle_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Ended:
    """How the connection ended: `by_client`, or closed by us with `code` and `reason`;
    `refused`: for a message the client sent (not for our own error or someone's decision)."""
    code: int | None
    reason: str = ""
    by_client: bool = False
    refused: bool = False


async def serve(transport: Transport, room: Room, peer: Peer, rules: Rules) -> Ended:
    """Act on the peer's messages until it leaves or is closed; the caller removes it from the
    room afterwards (and waits for the close frame to go out, `Peer.wait_closed`)."""
    fields = {"document_id": room.name, "user_id": peer.origin, "connection": peer.label}
    denied, refused = False, True
    try:
        while not peer.closing:
            message = await transport.receive()
            if peer.closing:
                break
            if isinstance(message, Disconnected):
                return Ended(message.code, by_client=True)
            room.receive(peer, _checked(message, rules))
            if room.store_saturated:
                await room.store_drained()
        return Ended(None, "closed by the server")
    except WriteRejected as exc:
        # An authorization failure: who, where, which roots; never the update's content.
        log.warning("write rejected; closing connection",
                    extra={"event": "ws.write_rejected", **fields, "reason": exc.reason,
                           "roots": sorted(exc.roots)})
        code, reason, denied = rules.refused_write_code, exc.reason, True
    except ProtocolError as exc:
        log.warning("protocol error; closing connection",
                    extra={"event": "ws.protocol_error", **fields, "reason": exc.reason,
                           "code": int(exc.code)})
        code, reason = exc.code, exc.reason
    except Exception:
        # A bug of ours, not the client's fault: logged whole, and the client told to come
        # back (1011) rather than dropped without a close frame; the room carries on.
        log.exception("message failed; closing connection",
                      extra={"event": "ws.server_error", **fields})
        code, reason, refused = CloseCode.INTERNAL_ERROR, "server-error: try again", False
    await _settle(room, peer, rules)
    if denied:
        peer.deny(code, reason)
    else:
        peer.close(code, reason)
    return Ended(code, reason, refused=refused)


def _checked(message: bytes | str, rules: Rules) -> bytes:
    """Refuse what no room should see: text frames, oversized messages, a flood."""
    if isinstance(message, str):
        raise ProtocolError("undecodable: text frames are not part of the protocol",
                            CloseCode.UNSUPPORTED_DATA)
    limit = rules.max_message_bytes
    if len(message) > limit:
        # Size and limit in the reason: the page tells its user both (a paste too big).
        raise ProtocolError(f"too-big: a message of {len(message):,} bytes is over the limit "
                            f"of {limit:,} bytes", CloseCode.MESSAGE_TOO_BIG)
    if rules.take_message is not None and not rules.take_message():
        raise ProtocolError(f"rate-limited: {rules.rate_description}", rules.throttled_code)
    return message


async def _settle(room: Room, peer: Peer, rules: Rules) -> None:
    """The answers owed for the messages before a refused one go out first, so the client
    learns the outcome of each message it sent, in order; unless storage hangs."""
    try:
        async with asyncio.timeout(rules.settle_seconds):
            await room.settle(peer)
    except TimeoutError:
        log.warning("closing before the answers owed were sent: storage is not committing",
                    extra={"event": "ws.unsettled", "document_id": room.name,
                           "connection": peer.label, "seconds": rules.settle_seconds})
