"""The text worker pool when a job crashes its worker (real spawned processes, the fast tier).

A crash breaks the whole pool and fails every job in it; only the job that caused it may fail:
its document is then reported unavailable until it changes, which an innocent document that
happened to be counted at the same moment must not be.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from app.workers import TextWorkers, WorkFailed


def _crash(_: int) -> int:
    os.abort()


def _slow_answer(started: str) -> int:
    """Say it is running (a file), then take a while."""
    Path(started).touch()
    time.sleep(3)
    return 42


async def test_a_crash_fails_only_its_own_job_not_the_one_running_beside_it(
    tmp_path: Path,
) -> None:
    workers = TextWorkers(2, timeout_seconds=60)
    started = tmp_path / "started"
    try:
        innocent = asyncio.ensure_future(workers.run(_slow_answer, str(started)))
        async with asyncio.timeout(30):
            while not started.exists():
                await asyncio.sleep(0.02)
        with pytest.raises(WorkFailed):
            await workers.run(_crash, 0)
        assert await innocent == 42
        # A broken pool is reported once (the culprit, run again alone, may break another).
        assert workers.crashes in (1, 2)
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
