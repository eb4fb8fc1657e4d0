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
        self.publications: list[list[str]] = []

    async def publish(self, changes: Sequence[Change]) -> None:
        self.changes.extend(changes)
        self.publications.append(sorted(c.document_id for c in changes))


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


async def test_documents_edited_in_one_window_are_told_in_one_publication() -> None:
    listeners = Listeners()
    notices = ProgressNotices(DurableAtOnce(), listeners, interval=0.02, record_interval=60)
    for seq, document_id in enumerate(["a", "b", "c", "a", "b"], start=1):
        notices.changed(document_id, seq)
    await asyncio.sleep(0.1)
    assert listeners.publications == [["a", "b", "c"]]
    await notices.close()


async def test_a_slow_count_does_not_hold_back_the_other_documents_events() -> None:
    listeners = Listeners()
    notices = ProgressNotices(DurableAtOnce(), listeners, interval=0.01, record_interval=60)
    release = asyncio.Event()

    async def recorder(document_id: str) -> bool:
        if document_id == "slow":
            await release.wait()
        return True

    notices.records_with(recorder)
    notices.changed("slow", 1)
    await asyncio.sleep(0.05)  # "slow" is being counted, and hangs there
    notices.changed("quick", 2)
    notices.changed("other", 3)
    await asyncio.sleep(0.05)
    assert listeners.publications == [["other", "quick"]], "told while the slow one counts"
    release.set()
    await asyncio.sleep(0.02)
    assert listeners.publications[-1] == ["slow"], "the slow one told once counted"
    await notices.close()
