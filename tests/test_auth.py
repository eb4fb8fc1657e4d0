"""Accounts and sessions through a real server: register, login, logout, me, throttling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tests.support.api import PASSWORD, Api
from tests.support.server import ServerProcess

pytestmark = pytest.mark.shared_server


async def test_register_login_me_logout_with_cookie(live_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        response = await http.post("/api/auth/register", json={
            "email": "Ada@Example.org", "password": PASSWORD, "name": "Ada"})
        assert response.status_code == 201
        assert response.json()["email"] == "ada@example.org"
        assert "password" not in response.text and "hash" not in response.text

        assert (await http.get("/api/me")).status_code == 401
        response = await http.post("/api/auth/login", json={
            "email": "ada@example.org", "password": PASSWORD})
        assert response.status_code == 200
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        me = await http.get("/api/me")
        assert me.status_code == 200 and me.json()["name"] == "Ada"

        # A cookie-authenticated state change names its origin, as a browser's does.
        logout = await http.post("/api/auth/logout", headers={"Origin": live_server.base_url})
        assert logout.status_code == 204
        assert (await http.get("/api/me")).status_code == 401


async def test_bearer_token_is_revoked_at_logout(alice: Api) -> None:
    assert (await alice.http.get("/api/me")).status_code == 200
    assert (await alice.http.post("/api/auth/logout")).status_code == 204
    response = await alice.http.get("/api/me")
    assert response.status_code == 401
    assert response.json()["detail"]


async def test_wrong_password_and_unknown_email_look_the_same(
    live_server: ServerProcess, alice: Api
) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        wrong = await http.post("/api/auth/login", json={
            "email": alice.user["email"], "password": "not the password"})
        unknown = await http.post("/api/auth/login", json={
            "email": "nobody@example.org", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_duplicate_email_is_a_conflict(live_server: ServerProcess, alice: Api) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        response = await http.post("/api/auth/register", json={
            "email": alice.user["email"].upper(), "password": PASSWORD, "name": "Again"})
    assert response.status_code == 409


async def test_bad_registration_input_gets_422_not_500(live_server: ServerProcess) -> None:
    bodies = [
        {"email": "not-an-email", "password": PASSWORD, "name": "X"},
        {"email": "x@example.org", "password": "short", "name": "X"},
        {"email": "x@example.org", "password": PASSWORD, "name": "   "},
        {"email": "x@example.org", "password": "p" * 5000, "name": "X"},
        {"password": PASSWORD},
    ]
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        for body in bodies:
            response = await http.post("/api/auth/register", json=body)
            assert response.status_code == 422, (body, response.text)
            assert "detail" in response.json()
        response = await http.post("/api/auth/register", content=b"{not json",
                                   headers={"content-type": "application/json"})
        assert response.status_code == 422


async def test_repeated_failed_logins_are_throttled(
    live_server: ServerProcess, alice: Api
) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        statuses = []
        for _ in range(6):
            response = await http.post("/api/auth/login", json={
                "email": alice.user["email"], "password": "guess guess"})
            statuses.append(response.status_code)
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 429
        assert int(response.headers["retry-after"]) >= 1
        # Even the right password waits: the throttle is what stops guessing.
        response = await http.post("/api/auth/login", json={
            "email": alice.user["email"], "password": PASSWORD})
        assert response.status_code == 429


async def test_expired_session_is_refused(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(session_ttl_hours=str(1 / 3600))  # one second
    api = Api(server.base_url)
    try:
        await api.sign_up()
        assert (await api.http.get("/api/me")).status_code == 200
        await asyncio.sleep(1.2)
        assert (await api.http.get("/api/me")).status_code == 401
    finally:
        await api.aclose()
