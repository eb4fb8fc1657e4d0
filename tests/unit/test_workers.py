"""The text worker pool when a job crashes its worker (real spawned processes, the fast tier).

A crash breaks the whole pool and fails every job in it; only the job that caused it may fail:
its document is then reported unavailable until it changes, which an innocent document that
happened to be counted at the same moment must not be.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from app.workers import TextWorkers, WorkFailed


def _crash(_: int) -> int:
    os.abort()


def _slow_square(number: int) -> int:
    time.sleep(0.5)
    return number * number


async def test_a_crash_fails_only_its_own_job_not_the_one_beside_it() -> None:
    workers = TextWorkers(2, timeout_seconds=60)
    try:
        innocent = asyncio.ensure_future(workers.run(_slow_square, 7))
        await asyncio.sleep(0.05)
        with pytest.raises(WorkFailed):
            await workers.run(_crash, 0)
        assert await innocent == 49
        # The culprit crashed twice: beside the innocent job, then alone.
        assert workers.crashes == 2
        assert await workers.run(_slow_square, 3) == 9
    finally:
        workers.close()


async def test_a_job_alone_when_it_crashes_is_not_run_again() -> None:
    workers = TextWorkers(2, timeout_seconds=60)
    try:
        with pytest.raises(WorkFailed):
            await workers.run(_crash, 0)
        assert workers.crashes == 1
    finally:
        workers.close()
