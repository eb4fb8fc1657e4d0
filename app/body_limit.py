"""Request bodies beyond a size limit are refused with a JSON 413, before they are parsed.

A declared `Content-Length` over the limit is answered at once, unread; a body without one
(chunked) is counted as it arrives and refused when it passes the limit: the route is still
reading it then, so the `HTTPException` raised from `receive` becomes the usual JSON error.
(FastAPI's own `max_body_size` does the same counting, but answers a declared length with a
plain-text 413 sent past every middleware, without the API's JSON shape or the security
headers.)
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """`max_bytes` 0 turns the limit off."""
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.max_bytes:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": self._detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._detail)
            return message

        await self.app(scope, counting_receive, send)

    @property
    def _detail(self) -> str:
        return f"Request body too large (at most {self.max_bytes} bytes)"
