"""Request bodies beyond a size limit are refused with a JSON 413, before they are parsed.

A declared `Content-Length` over the limit is answered at once, unread; a body without one
(chunked) is counted as it arrives and refused when it passes the limit: the route is still
reading it then, so the `HTTPException` raised from `receive` becomes the usual JSON error.
(FastAPI's own `max_body_size` does the same counting, but answers a declared length with a
plain-text 413 sent past every middleware, without the API's JSON shape or the security
headers.)
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

IMPORT_PATH = "/api/documents/import"
# What a multipart body adds around the file it carries, at most (boundaries, part headers).
_MULTIPART_ALLOWANCE = 64 * 1024


def import_body_limit(settings: Settings) -> int:
    """The import's own body limit: its file's limit (the route checks the file itself, for
    a clearer error), plus the multipart framing; 0 when files are not limited."""
    if not settings.import_max_bytes:
        return 0
    return settings.import_max_bytes + _MULTIPART_ALLOWANCE


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int,
                 overrides: Mapping[str, int] | None = None) -> None:
        """`max_bytes` 0 turns the limit off; `overrides`: other limits for some paths (an
        upload's)."""
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = dict(overrides or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.overrides.get(scope.get("path", ""), self.max_bytes)
        if scope["type"] != "http" or not limit:
            await self.app(scope, receive, send)
            return
        detail = f"Request body too large (at most {limit} bytes)"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, counting_receive, send)
