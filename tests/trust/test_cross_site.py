"""Cross-site requests cannot use a member's session cookie (issue 7, item 11).

A page on another site can make a browser send a body-less POST with the Widen cookie
attached (SameSite=Lax stops only some). Every cookie-authenticated unsafe request must come
from an allowed origin; bearer tokens carry no ambient authority and are not concerned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tests.support.api import PASSWORD, Api, by_link
from tests.support.server import ServerProcess

pytestmark = pytest.mark.shared_server

EVIL = "http://evil.example"


async def _cookie_client(server: ServerProcess, api: Api) -> httpx.AsyncClient:
    """A browser-like client of `api`'s user: the session cookie, no bearer token."""
    http = httpx.AsyncClient(base_url=server.base_url, timeout=30)
    response = await http.post("/api/auth/login",
                               json={"email": api.user["email"], "password": PASSWORD})
    assert response.status_code == 200, response.text
    return http


CookieClients = Callable[[Api], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def cookie_clients(live_server: ServerProcess) -> AsyncIterator[CookieClients]:
    clients: list[httpx.AsyncClient] = []

    async def make(api: Api) -> httpx.AsyncClient:
        clients.append(await _cookie_client(live_server, api))
        return clients[-1]

    yield make
    for http in clients:
        await http.aclose()


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["detail"]


async def test_body_less_cross_site_requests_are_refused_with_the_cookie(
    live_server: ServerProcess, cookie_clients: CookieClients,
    alice: Api, bob: Api,
) -> None:
    document_id = await alice.create_document("Plans")
    base = f"/api/documents/{document_id}"
    invitation = (await alice.http.post(f"{base}/invitations", json={
        "email": bob.user["email"], "role": "editor", "reason": "help"})).json()
    bob_browser = await cookie_clients(bob)
    alice_browser = await cookie_clients(alice)

    forged = {"Origin": EVIL}
    attempts = [
        (bob_browser, "POST", f"/api/invitations/{invitation['id']}/accept", forged),
        (bob_browser, "POST", f"/api/invitations/{invitation['id']}/decline",
         {"Sec-Fetch-Site": "cross-site"}),
        (bob_browser, "POST", f"/api/invitations/{invitation['id']}/accept",
         {"Sec-Fetch-Site": "same-site"}),
        (bob_browser, "POST", f"/api/invitations/{invitation['id']}/accept", {"Origin": "null"}),
        # Neither header: not a browser, which should use its bearer token instead.
        (bob_browser, "POST", f"/api/invitations/{invitation['id']}/accept", {}),
        (alice_browser, "DELETE", f"{base}/invitations/{invitation['id']}", forged),
        (alice_browser, "POST", f"{base}/ticket", forged),
        (alice_browser, "PATCH", base, forged),
        (alice_browser, "DELETE", base, forged),
        (alice_browser, "POST", "/api/auth/logout", forged),
    ]
    for http, method, path, headers in attempts:
        response = await http.request(method, path, headers=headers,
                                      json={"title": "Owned"} if method == "PATCH" else None)
        _refused(response)

    # Nothing happened: the invitation waits, the document is whole, the sessions live.
    pending = (await alice.http.get(f"{base}/invitations")).json()
    assert [(i["id"], i["status"]) for i in pending] == [(invitation["id"], "pending")]
    assert (await alice.http.get(base)).json()["title"] == "Plans"
    assert (await alice_browser.get("/api/me")).status_code == 200

    # Reading is not a state change: a cross-site GET is answered (CORS keeps it unreadable).
    assert (await bob_browser.get("/api/me", headers=forged)).status_code == 200

    # From the app's own origin, or as a browser that says "same-origin", it works.
    own = {"Origin": live_server.base_url}
    response = await bob_browser.post(f"/api/invitations/{invitation['id']}/accept", headers=own,
                                      json=by_link(invitation))
    assert response.status_code == 200, response.text
    response = await alice_browser.post("/api/auth/logout",
                                        headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 204, response.text


async def test_bearer_requests_are_not_concerned(
    live_server: ServerProcess, cookie_clients: CookieClients, alice: Api,
) -> None:
    """A bearer token is never sent by a browser on its own, so no origin is asked of it,
    even when the client also holds a cookie; the cookie alone from elsewhere is refused."""
    response = await alice.http.post("/api/documents", json={"title": "Tool"},
                                     headers={"Origin": EVIL})
    assert response.status_code == 201, response.text
    both = await cookie_clients(alice)
    response = await both.post("/api/documents", json={"title": "Both"}, headers={
        "Origin": EVIL, "Authorization": f"Bearer {alice.token}"})
    assert response.status_code == 201, response.text
    _refused(await both.post("/api/documents", json={"title": "Cookie"},
                             headers={"Origin": EVIL}))


async def test_signing_in_again_with_an_old_cookie_needs_no_origin(
    live_server: ServerProcess, cookie_clients: CookieClients, alice: Api,
) -> None:
    """Signing in or registering is not authenticated by the cookie, so a client that holds
    one (a script that signed in before) is not asked for an origin."""
    http = await cookie_clients(alice)
    response = await http.post("/api/auth/login",
                               json={"email": alice.user["email"], "password": PASSWORD})
    assert response.status_code == 200, response.text
    response = await http.post("/api/auth/register", json={
        "email": "again@example.org", "password": PASSWORD, "name": "Again"})
    assert response.status_code == 201, response.text
    # Anything the cookie signs in still needs the origin.
    _refused(await http.post("/api/auth/logout"))
