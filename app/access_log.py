"""One log line per HTTP request, whatever happens to it, 500s included.

An exception that escapes the app is logged here with its traceback (event `http.error`),
answered with a JSON 500, and counted in the access line like any other status: before, it
escaped a `call_next` middleware and the request left no `http.request` line at all. Neither
line carries the query string (it may hold a ticket) or any part of the request body; the
database engine is built with `hide_parameters`, so an SQL error does not quote what was sent.
"""

from __future__ import annotations

import logging
import time

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("widen.app")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        where = {"method": scope["method"], "path": scope["path"]}
        try:
            await self.app(scope, receive, send_recording_status)
        except Exception:
            log.exception("request failed", extra={"event": "http.error", **where})
            if status is not None:
                # Part of a response is out: nothing valid can follow; the server drops the
                # connection, and the client sees that the response was cut short.
                raise
            status = 500
            await JSONResponse({"detail": "Internal server error"}, status_code=500)(
                scope, receive, send)
        finally:
            log.info("request", extra={
                "event": "http.request", **where, "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1)})
