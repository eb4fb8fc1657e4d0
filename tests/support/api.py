"""A thin client of Widen's HTTP API, as a test would use it: one signed-in user per instance."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Self

import httpx

_counter = itertools.count(1)
PASSWORD = "correct horse battery"
# Idle connections are dropped before uvicorn closes its side (after 5 s): with the same 5 s
# (httpx's default), a request could go out on a connection the server was closing, and fail
# with a bare ReadError (the long property fuzz met it once in 96,000 messages).
_LIMITS = httpx.Limits(keepalive_expiry=2.0)


class Api:
    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30, transport=transport,
                                      limits=_LIMITS)
        self.user: dict[str, Any] = {}
        self.token = ""

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def sign_up(self, name: str | None = None, email: str | None = None) -> Api:
        """Register a fresh user and sign in with a bearer token."""
        n = next(_counter)
        name = name or f"User {n}"
        email = email or f"user{n}-{id(self)}@example.org"
        response = await self.http.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert response.status_code == 201, response.text
        response = await self.http.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        self.user = response.json()["user"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.http.cookies.clear()
        return self

    async def create_document(self, title: str = "Draft") -> str:
        response = await self.http.post("/api/documents", json={"title": title})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def add_section(self, document_id: str, title: str) -> str:
        """A new section; its Y.Doc root's name."""
        response = await self.http.post(f"/api/documents/{document_id}/sections",
                                        json={"title": title})
        assert response.status_code == 201, response.text
        return f"section:{response.json()['id']}"

    async def add_member(self, member: Api, document_id: str, role: str,
                         reason: str = "help") -> None:
        """Invite `member` to a document of ours, and have them accept by the link."""
        response = await self.http.post(f"/api/documents/{document_id}/invitations", json={
            "email": member.user["email"], "role": role, "reason": reason})
        assert response.status_code == 201, response.text
        accepted = await member.http.post(f"/api/invitations/{response.json()['id']}/accept",
                                          json=by_link(response.json()))
        assert accepted.status_code == 200, accepted.text

    async def progress(self, document_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/documents/{document_id}/progress")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def ticket(self, document_id: str) -> str:
        response = await self.http.post(f"/api/documents/{document_id}/ticket")
        assert response.status_code == 200, response.text
        return str(response.json()["ticket"])


@asynccontextmanager
async def clients_of(build: Callable[[], Api]) -> AsyncIterator[Callable[[], Api]]:
    """A maker of clients (`build` makes one), for a fixture: every client it made is closed
    when the block ends."""
    made: list[Api] = []

    def make() -> Api:
        api = build()
        made.append(api)
        return api

    try:
        yield make
    finally:
        for api in made:
            await api.aclose()


def link_token(invitation: dict[str, Any]) -> str:
    """The secret of an invitation's link, as the owner got it in the invitation's answer."""
    link = str(invitation["link"])
    prefix = f"/#/invite/{invitation['id']}/"
    assert prefix in link, link
    return link.split(prefix, 1)[1]


def by_link(invitation: dict[str, Any]) -> dict[str, str]:
    """The body that accepts (or declines) an invitation by its link: what proves the
    invitee holds the invited address."""
    return {"token": link_token(invitation)}
