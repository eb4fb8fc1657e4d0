"""Bad input is a 4xx, never a 500, and never lands in a log (issue 7, item 14)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import Api
from tests.support.server import ServerProcess

pytestmark = pytest.mark.shared_server

SECRET = "SECRETPW"


async def test_a_lone_surrogate_in_any_json_string_is_a_422_and_is_not_logged(
    live_server: ServerProcess, alice: Api
) -> None:
    """A JSON `\\ud800` escape decodes to a string no encoder accepts. The login refused it
    with a 500 whose traceback logged the password (fixed with the 422 handler that echoes
    nothing); every string field refuses it."""
    document_id = await alice.create_document("Odd")
    base = f"/api/documents/{document_id}"
    surrogate = "\\ud800"
    cases = [
        ("POST", "/api/auth/login", f'{{"email": "a@b.co", "password": "{SECRET}{surrogate}"}}'),
        ("POST", "/api/auth/login", f'{{"email": "a{surrogate}@b.co", "password": "{SECRET}"}}'),
        ("POST", "/api/auth/register",
         f'{{"email": "new@b.co", "password": "{SECRET}{surrogate}", "name": "N"}}'),
        ("POST", "/api/auth/register",
         f'{{"email": "new@b.co", "password": "{SECRET}", "name": "{surrogate}"}}'),
        ("POST", "/api/documents", f'{{"title": "{surrogate}"}}'),
        ("PATCH", base, f'{{"title": "x{surrogate}"}}'),
        ("POST", f"{base}/sections", f'{{"title": "{surrogate}"}}'),
        ("POST", f"{base}/invitations", '{"email": "i@b.co", "role": "editor", "reason": "help",'
                                        f' "sections": ["{surrogate}"]}}'),
        ("POST", f"{base}/invitations", '{"email": "i@b.co", "role": "viewer", "reason": "help",'
                                        f' "message": "{SECRET}{surrogate}"}}'),
    ]
    async with httpx.AsyncClient(base_url=live_server.base_url) as anonymous:
        for method, path, raw in cases:
            http = anonymous if path.startswith("/api/auth") else alice.http
            response = await http.request(method, path, content=raw.encode(),
                                          headers={"content-type": "application/json"})
            assert response.status_code == 422, (path, raw, response.text)
            assert SECRET not in response.text
    logs = live_server.logs()
    assert SECRET not in logs
    assert '"status": 500' not in logs and '"level": "error"' not in logs


async def test_times_out_of_range_are_a_422(live_server: ServerProcess, alice: Api) -> None:
    document_id = await alice.create_document("Later")
    path = f"/api/documents/{document_id}/invitations"
    for n, expires_at in enumerate(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"]):
        response = await alice.http.post(path, json={
            "email": f"late{n}@example.org", "role": "viewer", "reason": "help",
            "message": SECRET, "expires_at": expires_at})
        assert response.status_code == 422, response.text
        assert [e["loc"] for e in response.json()["detail"]] == [["body", "expires_at"]]
    # The latest instant that is still a time in UTC is fine.
    response = await alice.http.post(path, json={
        "email": "last@example.org", "role": "viewer", "reason": "help",
        "expires_at": "9999-12-31T23:59:59+14:00"})
    assert response.status_code == 201, response.text
    assert response.json()["expires_at"] == "9999-12-31T09:59:59Z"
    assert (await alice.http.get(path)).status_code == 200
    assert SECRET not in live_server.logs()
