"""Background work after a response, on the event loop.

Starlette runs a plain function given to `BackgroundTasks` in a worker thread. The functions
handed to it here close sockets and wake the mail sender: they touch the event loop's objects
(tasks, events, transports), which only the loop's own thread may. A coroutine runs on the
loop, so each is wrapped in one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec

P = ParamSpec("P")


def on_the_loop(work: Callable[P, None]) -> Callable[P, Awaitable[None]]:
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        work(*args, **kwargs)

    return run
