"""Fan-out of messages to named channels: the seam between the process that makes a change and
the processes whose clients must hear of it (DESIGN §2 "broker", §6 "Multi-process").

One process needs nothing more than `InProcessBroker`. With several processes a Redis pub/sub
broker implements the same protocol (`crdt.redis_broker`): `publish` sends to every process,
and each delivers to the subscriptions it holds. Messages are bytes, so they cross a process
unchanged, and delivery is a plain callback that must not block: a subscriber that needs to
wait queues the message itself (and drops itself when its queue is full, see `app.event_channel`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

Deliver = Callable[[bytes], None]


class Subscription(Protocol):
    async def close(self) -> None:
        """Stop delivering; messages published afterwards are not delivered."""


class Broker(Protocol):
    async def publish(self, channel: str, message: bytes) -> None:
        """Deliver `message` to every current subscription of `channel`, in any process;
        messages published by one caller to one channel arrive in the order published."""

    async def subscribe(self, channel: str, deliver: Deliver) -> Subscription:
        """Once this returns, every message published to `channel` is passed to `deliver`."""

    def post(self, channel: str, message: bytes) -> None:
        """Publish to the subscriptions of *other* processes only, without waiting: queued,
        in order. For a room, which tells its own peers itself."""

    def after_loss(self, callback: Callable[[str | None], None]) -> None:
        """Call `callback` whenever messages to this process may have been lost: with a
        channel's name when another process could not publish to it, with None when this
        process was cut off (any channel). Whoever depends on them repairs what they hold."""


class _LocalSubscription:
    def __init__(self, broker: InProcessBroker, channel: str, deliver: Deliver) -> None:
        self._broker = broker
        self.channel = channel
        self.deliver = deliver

    async def close(self) -> None:
        self._broker.unsubscribe(self)


class InProcessBroker:
    """Every subscriber lives in this process: publishing is calling them."""

    def __init__(self, emptied: Callable[[str], None] | None = None) -> None:
        """`emptied`: told when a channel's last subscription in this process closed."""
        self._subscriptions: defaultdict[str, list[_LocalSubscription]] = defaultdict(list)
        self._emptied = emptied

    @property
    def subscriptions(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    async def publish(self, channel: str, message: bytes) -> None:
        self.deliver(channel, message)

    async def subscribe(self, channel: str, deliver: Deliver) -> Subscription:
        return self.subscribe_now(channel, deliver)

    def subscribe_now(self, channel: str, deliver: Deliver) -> _LocalSubscription:
        subscription = _LocalSubscription(self, channel, deliver)
        self._subscriptions[channel].append(subscription)
        return subscription

    def deliver(self, channel: str, message: bytes) -> None:
        for subscription in list(self._subscriptions.get(channel, ())):
            subscription.deliver(message)

    def channels(self) -> list[str]:
        return list(self._subscriptions)

    def post(self, channel: str, message: bytes) -> None:
        """There is no other process."""

    def after_loss(self, callback: Callable[[str | None], None]) -> None:
        """In-process delivery loses nothing."""

    def unsubscribe(self, subscription: _LocalSubscription) -> None:
        subscribers = self._subscriptions.get(subscription.channel)
        if subscribers is None:
            return
        if subscription in subscribers:
            subscribers.remove(subscription)
        if not subscribers:
            del self._subscriptions[subscription.channel]
            if self._emptied is not None:
                self._emptied(subscription.channel)
