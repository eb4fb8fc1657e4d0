"""Long update logs and a measure of how long the event loop stops, for the tests that keep
CPU-heavy document work (rebuilding, compacting) off the loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from pycrdt import Doc, Text, TransactionEvent


def keystrokes(edits: int, root: str = "body") -> tuple[list[bytes], str]:
    """A writer's updates, one per keystroke, with some deletions; and the text they make."""
    doc: Doc[Any] = Doc()
    text = doc.get(root, type=Text)
    updates: list[bytes] = []

    def keep(event: TransactionEvent) -> None:
        updates.append(event.update)

    doc.observe(keep)
    for n in range(edits):
        if n % 7 == 6:
            del text[len(text) // 2]
        else:
            text.insert(len(text) // 3, f"{n % 10}")
    return updates, str(text)


async def longest_stall(work: Awaitable[Any], tick: float = 0.005) -> tuple[float, float]:
    """Run `work`; return how long it took and the longest the loop went without running a
    `tick`-second timer meanwhile."""
    task = asyncio.ensure_future(work)
    begun = time.perf_counter()
    longest = 0.0
    while not task.done():
        slept_at = time.perf_counter()
        await asyncio.sleep(tick)
        longest = max(longest, time.perf_counter() - slept_at - tick)
    await task
    return time.perf_counter() - begun, longest
