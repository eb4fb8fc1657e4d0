"""Cookie-authenticated state changes only from allowed origins (a CSRF defence).

A page on any site can make a browser send a request to Widen, and the browser attaches the
session cookie (`SameSite=Lax` holds back only some: not a top-level form POST within two
minutes of login on every browser, not same-site subdomains). Body-less POSTs such as
"accept this invitation" or "log out" need no CORS preflight. So every request with an unsafe
method that the session cookie authenticates must show where it comes from:
- `Origin` present: it must be one of the allowed origins (`Settings.effective_origins`);
- else `Sec-Fetch-Site` present: only `same-origin` passes;
- else refused: browsers send `Origin` on every non-GET request, same-origin ones included, so
  only a non-browser client sends neither, and it should use its bearer token.
A bearer token is never attached by a browser on its own, so requests carrying one pass.
"""

from __future__ import annotations

import logging

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import SESSION_COOKIE

log = logging.getLogger("widen.cross_site")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REFUSED = ("Refused: a request signed in with the session cookie must come from this app's "
           "own pages (check the Origin header, or use a bearer token)")


class CrossSiteGuard:
    def __init__(self, app: ASGIApp, allowed_origins: frozenset[str]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            connection = HTTPConnection(scope)
            if _uses_session_cookie(connection) and not self._from_allowed_origin(connection):
                log.info("cross-site request refused", extra={
                    "event": "http.cross_site_refused", "method": scope["method"],
                    "path": connection.url.path,
                    "origin": connection.headers.get("origin"),
                    "fetch_site": connection.headers.get("sec-fetch-site")})
                await JSONResponse({"detail": REFUSED}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _from_allowed_origin(self, connection: HTTPConnection) -> bool:
        origin = connection.headers.get("origin")
        if origin is not None:
            return origin.rstrip("/") in self.allowed_origins
        return connection.headers.get("sec-fetch-site") == "same-origin"


def _uses_session_cookie(connection: HTTPConnection) -> bool:
    """As `deps.presented_token` decides: a bearer token wins over the cookie."""
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return False
    return bool(connection.cookies.get(SESSION_COOKIE))
