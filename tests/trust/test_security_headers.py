"""Every response carries the browser-side defences (issue 7, item 13): a Content Security
Policy without inline scripts, no framing, no MIME sniffing, no referrer leaking ids.

The web app's own pages get the strict policy; `/docs` (Swagger UI, from a CDN, started by an
inline script) gets a policy of its own that allows exactly that script by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest

from tests.support.api import Api
from tests.support.server import ServerProcess

pytestmark = pytest.mark.shared_server

DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


def _check_common(response: httpx.Response) -> dict[str, list[str]]:
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") in ("no-referrer", "same-origin"), where
    policy = _directives(headers.get("content-security-policy", ""))
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert "'unsafe-inline'" not in policy.get("script-src", ["'unsafe-inline'"]), where
    assert "'unsafe-eval'" not in policy.get("script-src", []), where
    return policy


async def test_every_response_carries_the_security_headers(
    live_server: ServerProcess, alice: Api
) -> None:
    assets = sorted(p.name for p in (DIST / "assets").iterdir())
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        responses = [
            await http.get("/"),
            await http.get("/index.html"),
            *[await http.get(f"/assets/{name}") for name in assets],
            await http.get("/no-such-file.js"),
            await http.get("/api/health"),
            await http.get("/api/me"),
            await http.get("/openapi.json"),
            await http.post("/api/auth/login", json={}),
            await http.post("/api/auth/login", content=b"{", headers={
                "content-type": "application/json"}),
            await http.delete("/api/health"),
        ]
    responses += [await alice.http.get("/api/documents"),
                  await alice.http.get("/api/documents/missing")]
    assert [r.status_code for r in responses][:2] == [200, 200]
    for response in responses:
        policy = _check_common(response)
        # The app's own policy: everything from this origin, nothing inline or injected.
        assert policy["script-src"] == ["'self'"], response.request.url
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]


async def test_the_app_needs_no_inline_script_and_docs_allow_only_their_own(
    live_server: ServerProcess,
) -> None:
    index = (DIST / "index.html").read_text()
    assert INLINE_SCRIPT.findall(index) == [], "the built app must not need inline scripts"

    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        docs = await http.get("/docs")
    assert docs.status_code == 200
    policy = _check_common(docs)
    inline = INLINE_SCRIPT.findall(docs.text)
    assert len(inline) == 1, "Swagger UI is started by one inline script"
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy["script-src"]
    assert set(policy["script-src"]) == {f"'sha256-{digest}'", "https://cdn.jsdelivr.net"}
    assert policy["connect-src"] == ["'self'"]
