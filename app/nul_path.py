"""A request whose path holds a NUL is answered 404 before any route sees it: no id contains
one, and PostgreSQL cannot even compare one (the query would fail with a 500).

Plain ASGI, not Starlette's `BaseHTTPMiddleware` (what `@app.middleware("http")` makes), which
runs the rest of every request in a task of its own behind memory streams, for a check that
needs neither. (`bench/http_requests.py` shows no difference beyond its noise, about 10%.)
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class RefuseNulInPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope["path"]:
            await JSONResponse({"detail": "Not found"}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)
