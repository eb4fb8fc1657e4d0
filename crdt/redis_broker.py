"""The broker over Redis pub/sub, for several processes serving the same documents (DESIGN §6
"Multi-process").

Each process holds one pub/sub connection, subscribed to every channel one of its own
subscriptions needs, and delivers what arrives to them (`InProcessBroker` keeps that table).
Every message carries the id of the process that published it: a process delivers its own
messages to its subscribers directly when it publishes (`publish`), or not at all (`post`, for a
room, which tells its own peers itself), and skips them when Redis echoes them back.

Pub/sub delivers at most once: a message published while a process is cut off from Redis never
reaches it. So the broker reconnects on its own, subscribes again to everything, and then tells
whoever registered with `after_loss` to repair what they hold (rooms reload from the database).
Publishing never blocks a caller on Redis: `post` queues, one task sends in order, and what
cannot be sent is dropped (counted, logged); once sending works again, the broker tells the
other processes which channels lost messages, and their `after_loss` callbacks repair those.
Edits keep working without Redis; only their fan-out to other processes waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from crdt.broker import Deliver, InProcessBroker, Subscription

log = logging.getLogger("widen.redis_broker")

_PROCESS_ID_BYTES = 8
# After the publishing process's id: what the rest of the envelope is.
_MESSAGE, _LOST = b"m", b"l"
_HEAD = _PROCESS_ID_BYTES + 1
# Messages waiting to go to Redis; beyond this (Redis slow or away) new ones are dropped.
MAX_QUEUED = 50_000
# How long `subscribe` waits for Redis to confirm before going on (a repair covers the rest).
SUBSCRIBE_CONFIRM_SECONDS = 2.0
RECONNECT_MIN_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 2.0
# Messages sent to Redis in one round trip, at most.
PIPELINE = 256


class RedisBroker:
    def __init__(self, url: str, *, health_check_seconds: float = 5.0) -> None:
        # Short timeouts: a Redis that stops answering must not hold a sender for long. An
        # idle pub/sub connection is pinged every `health_check_seconds`, so one that died
        # silently is noticed (and its losses repaired).
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=1.0,
                                            socket_keepalive=True,
                                            health_check_interval=health_check_seconds)
        self.process_id = os.urandom(_PROCESS_ID_BYTES)
        self._local = InProcessBroker(emptied=self._emptied)
        self._pubsub: PubSub | None = None
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        self._loss_callbacks: list[Callable[[str | None], None]] = []
        self._lost_channels: set[str] = set()  # posts dropped, not yet reported
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0  # messages not sent because Redis was away or slow
        self._dropping = False  # since the last message that went through

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen(), name="widen-redis-listen"),
                       asyncio.create_task(self._send(), name="widen-redis-send")]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()

    @property
    def connected(self) -> bool:
        return self._pubsub is not None

    async def publish(self, channel: str, message: bytes) -> None:
        """Deliver here at once, and to every other process through Redis."""
        self._local.deliver(channel, message)
        self.post(channel, message)

    def post(self, channel: str, message: bytes) -> None:
        if len(self._outbox) >= MAX_QUEUED:
            self._dropped([channel], "the queue to Redis is full")
            return
        self._outbox.append((channel, self.process_id + _MESSAGE + message))
        self._outbox_ready.set()

    async def subscribe(self, channel: str, deliver: Deliver) -> Subscription:
        """Subscribed here at once; in Redis once it confirms (waited for, up to a bound: while
        Redis is away, the subscription is made when it returns, and a repair follows)."""
        first = channel not in self._local.channels()
        subscription = self._local.subscribe_now(channel, deliver)
        if first and self._pubsub is not None:
            confirmed = self._confirmations.setdefault(
                channel, asyncio.get_running_loop().create_future())
            try:
                await self._pubsub.subscribe(channel)
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_CONFIRM_SECONDS)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("subscribing in Redis failed: the repair after reconnecting covers "
                            "it", extra={"event": "broker.subscribe_failed", "channel": channel,
                                         "error": repr(exc)})
        return subscription

    def after_loss(self, callback: Callable[[str | None], None]) -> None:
        self._loss_callbacks.append(callback)

    def _emptied(self, channel: str) -> None:
        if self._pubsub is not None:
            task = asyncio.get_running_loop().create_task(self._unsubscribe(self._pubsub,
                                                                            channel))
            self._tasks.append(task)
            task.add_done_callback(self._tasks.remove)

    async def _unsubscribe(self, pubsub: PubSub, channel: str) -> None:
        if channel in self._local.channels():
            return  # subscribed again meanwhile
        try:
            await pubsub.unsubscribe(channel)
        except (RedisError, OSError) as exc:
            # The connection is going: its subscriptions go with it.
            log.info("unsubscribing in Redis failed", extra={
                "event": "broker.unsubscribe_failed", "channel": channel, "error": repr(exc)})

    async def _listen(self) -> None:
        """Hold the pub/sub connection: (re)connect, subscribe to every channel held here, and
        deliver; after an outage, tell `after_loss` callbacks."""
        delay = RECONNECT_MIN_SECONDS
        had_outage = False
        while True:
            pubsub = self._redis.pubsub()
            try:
                # A channel of this process's own, so there is always one (listen needs one).
                subscribed = {f"widen:process:{self.process_id.hex()}", *self._local.channels()}
                await pubsub.subscribe(*subscribed)
                self._pubsub = pubsub
                # Subscribed here meanwhile, while `subscribe` could not reach Redis yet.
                if added := set(self._local.channels()) - subscribed:
                    await pubsub.subscribe(*added)
                if had_outage:
                    log.info("Redis is back: repairing what the outage may have dropped",
                             extra={"event": "broker.reconnected"})
                    self._lost(None)
                had_outage = False
                delay = RECONNECT_MIN_SECONDS
                async for message in pubsub.listen():
                    self._receive(message)
            except Exception as exc:
                if not isinstance(exc, RedisError | OSError):
                    # A bug of ours, not an outage: say so, and carry on as after one.
                    log.exception("the Redis listener failed",
                                  extra={"event": "broker.listener_failed"})
                if not had_outage:
                    log.warning("Redis unreachable: other processes miss this one's updates "
                                "until it returns", extra={"event": "broker.unreachable",
                                                           "error": repr(exc)})
                had_outage = True
            finally:
                self._pubsub = None
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_SECONDS, delay * 2)

    def _receive(self, message: dict[str, object]) -> None:
        kind, channel, data = message["type"], message["channel"], message["data"]
        if not isinstance(channel, bytes):
            return  # a pong (from a ping) has none
        name = channel.decode()
        if kind == "subscribe":
            confirmed = self._confirmations.pop(name, None)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            return
        if kind != "message" or not isinstance(data, bytes):
            return
        if data[:_PROCESS_ID_BYTES] == self.process_id:
            return  # ours: already delivered here, or not meant for here
        if data[_PROCESS_ID_BYTES:_HEAD] == _LOST:
            self._lost(name)
        else:
            self._local.deliver(name, data[_HEAD:])

    def _lost(self, channel: str | None) -> None:
        for callback in list(self._loss_callbacks):
            callback(channel)

    async def _send(self) -> None:
        while True:
            if self._lost_channels:
                # Report lost messages soon even if nothing else is published meanwhile.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._outbox_ready.wait(), RECONNECT_MAX_SECONDS)
                self._report_lost()
            else:
                await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                batch = [self._outbox.popleft()
                         for _ in range(min(PIPELINE, len(self._outbox)))]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, data in batch:
                            pipe.publish(channel, data)
                        await pipe.execute()
                except Exception as exc:
                    if not isinstance(exc, RedisError | OSError):
                        log.exception("publishing to Redis failed",
                                      extra={"event": "broker.publish_failed"})
                    self._dropped([channel for channel, _ in batch], repr(exc))
                else:
                    self._dropping = False
                    self._report_lost()

    def _dropped(self, channels: list[str], why: str) -> None:
        if not self._dropping:
            self._dropping = True
            log.warning("messages to other processes dropped: they repair once told",
                        extra={"event": "broker.dropped", "why": why})
        self.dropped += len(channels)
        self._lost_channels.update(channels)

    def _report_lost(self) -> None:
        """Sending works again: tell the other processes which channels lost messages (if
        this notice is lost too, it is reported again after the next failure)."""
        if self._lost_channels:
            lost, self._lost_channels = self._lost_channels, set()
            self._outbox.extend((channel, self.process_id + _LOST) for channel in lost)
