"""The day row of a document being typed in is recorded at most once per record interval.

`DurableAtOnce` and `Listeners` stand in for the update store and the event fan-out (only
their waiting and publishing matter here); the notices, their windows and timers are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.events import Change
from app.progress_events import ProgressNotices


class DurableAtOnce:
    async def wait_durable(self, seq: int) -> None:
        return None


class Listeners:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    async def publish(self, changes: Sequence[Change]) -> None:
        self.changes.extend(changes)


async def test_windows_tell_every_time_but_record_once_per_interval() -> None:
    listeners = Listeners()
    notices = ProgressNotices(DurableAtOnce(), listeners, interval=0.01, record_interval=0.3)
    recorded: list[str] = []

    async def recorder(document_id: str) -> bool:
        recorded.append(document_id)
        return True

    notices.records_with(recorder)
    for seq in range(1, 6):  # five windows, 50 ms apart
        notices.changed("doc", seq)
        await asyncio.sleep(0.05)
    assert len(listeners.changes) == 5, "every window is told"
    assert recorded == ["doc"], "recorded once within the interval"
    await asyncio.sleep(0.35)
    assert recorded == ["doc", "doc"], "the deferred recording ran when the interval was over"
    await notices.close()
