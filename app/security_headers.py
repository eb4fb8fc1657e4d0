"""Browser-side defences on every HTTP response.

- `Content-Security-Policy`: the web app loads scripts, styles and data only from this origin
  and runs no inline script, so an injected `<script>` or `javascript:` link does nothing, and
  an injected `url(...)` cannot make a browser fetch another site. The app sets colours and
  widths through `style` attributes (avatars, progress bars), which `style-src-attr` allows;
  inline `<style>` elements stay refused. `frame-ancestors 'none'` forbids framing.
- `X-Frame-Options: DENY`: the same for browsers without `frame-ancestors`.
- `X-Content-Type-Options: nosniff`: a response is only ever what its type says.
- `Referrer-Policy: no-referrer`: document ids in URLs never leave with a link.
A route may set its own policy (the API docs do); the others are added where missing.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

_HEADERS = {
    "content-security-policy": APP_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
SWAGGER_CDN = "https://cdn.jsdelivr.net"


def docs_policy(html: str) -> str:
    """The API docs page (Swagger UI) loads from its CDN and is started by an inline script:
    allow that CDN and exactly the page's own inline scripts, by hash, and nothing else."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    return "; ".join([
        "default-src 'none'",
        " ".join(["script-src", SWAGGER_CDN, *hashes]),
        f"style-src {SWAGGER_CDN} 'unsafe-inline'",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
