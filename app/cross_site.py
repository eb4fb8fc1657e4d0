"""Cookie-authenticated state changes only from allowed origins (a CSRF defence).

A page on any site can make a browser send a request to Widen, and the browser attaches the
session cookie (`SameSite=Lax` holds back only some: not a top-level form POST on every
browser, not a sibling subdomain's requests). Body-less POSTs such as "accept this invitation"
or "log out" need no CORS preflight. So every request with an unsafe method that the session
cookie authenticates must show where it comes from:
- `Origin` present: it must be one of the allowed origins (`Settings.effective_origins`);
- else `Sec-Fetch-Site` present: only `same-origin` passes;
- else refused: browsers send `Origin` on every non-GET request, same-origin ones included, so
  only a non-browser client sends neither, and it should use its bearer token.

Checked where requests are authenticated (`deps.get_current_user`), so it concerns exactly the
requests the cookie signs in: a bearer token wins over the cookie there, and signing in or
registering (which a client holding an old cookie may do) is not concerned.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request, status
from starlette.datastructures import Headers

log = logging.getLogger("widen.cross_site")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REFUSED = ("Refused: a request signed in with the session cookie must come from this app's "
           "own pages (check the Origin header, or use a bearer token)")


def from_allowed_origin(headers: Headers, allowed_origins: frozenset[str]) -> bool:
    origin = headers.get("origin")
    if origin is not None:
        return origin.rstrip("/") in allowed_origins
    return headers.get("sec-fetch-site") == "same-origin"


def refuse_cross_site(request: Request, allowed_origins: frozenset[str]) -> None:
    """A 403 for an unsafe request, authenticated by the cookie, from elsewhere."""
    if request.method in SAFE_METHODS or from_allowed_origin(request.headers, allowed_origins):
        return
    log.info("cross-site request refused", extra={
        "event": "http.cross_site_refused", "method": request.method,
        "path": request.url.path, "origin": request.headers.get("origin"),
        "fetch_site": request.headers.get("sec-fetch-site")})
    raise HTTPException(status.HTTP_403_FORBIDDEN, REFUSED)
