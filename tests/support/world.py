"""A cast of callers around one shared document on a real server, for the suites that ask
"who gets what" of every route (`tests/trust/`): the access matrix and the schema fuzzer.

One server and one set of accounts serve a whole test module (registering costs an argon2
hash, so accounts are made once); documents are cheap, and `World.build` makes a fresh one,
shared with every member role, whenever a test needs state that no earlier test has touched.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from app import models
from app.security import token_digest
from app.timeutil import utcnow
from tests.support.api import PASSWORD, by_link
from tests.support.pgadmin import fresh_database
from tests.support.server import ServerProcess

# The member roles of a world, as (role, scoped to section A?). "bystander" is a plain viewer
# that routes about someone else (change a member, revoke one, transfer to one) act on, so no
# caller's own grant is the one changed.
MEMBER_ROLES: dict[str, tuple[str, bool]] = {
    "editor": ("editor", False),
    "section_editor": ("editor", True),
    "reviewer": ("reviewer", False),
    "viewer": ("viewer", False),
    "progress": ("progress", False),
    "bystander": ("viewer", False),
}


@dataclass(frozen=True, slots=True)
class Person:
    """An account and one login of it (a bearer token, also usable as the session cookie)."""

    name: str
    user_id: str
    email: str
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True, slots=True)
class World:
    """A document owned by `people["owner"]` with sections A and B, every member of
    `MEMBER_ROLES` holding an accepted grant, and a pending invitation to an outsider."""

    document_id: str
    section_a: str
    section_b: str
    pending_invitation: str


@dataclass
class Cast:
    """The server, its database, and everyone who calls it.

    One HTTP client serves every caller (a client costs tens of milliseconds to make); it keeps
    no cookies, so who calls is only ever the bearer token a request carries."""

    server: ServerProcess
    database_url: str
    http: httpx.AsyncClient
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def owner(self) -> Person:
        return self.people["owner"]

    async def call(self, person: Person | None, method: str, path: str,
                   json: Any = None, files: dict[str, tuple[str, bytes, str]] | None = None
                   ) -> httpx.Response:
        """`files`: a multipart upload (field → name, content, type) instead of JSON."""
        headers = person.headers() if person is not None else {}
        response = await self.http.request(method, path, json=json, files=files,
                                           headers=headers)
        self.http.cookies.clear()
        return response

    async def expect(self, person: Person | None, method: str, path: str, status: int,
                     json: Any = None) -> Any:
        """A setup step that must succeed: its JSON, or None for an empty answer."""
        response = await self.call(person, method, path, json)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def sign_up(self, name: str) -> Person:
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.org"
        await self.expect(None, "POST", "/api/auth/register", 201, {
            "email": email, "password": PASSWORD, "name": name.replace("_", " ").title()})
        return await self.log_in(Person(name, "", email, ""))

    async def log_in(self, person: Person) -> Person:
        """A second, independent login of the same account."""
        response = await self.call(None, "POST", "/api/auth/login",
                                   {"email": person.email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        login = response.json()
        return Person(person.name, login["user"]["id"], person.email, login["token"])

    async def expired_login(self, person: Person) -> Person:
        """A login whose session row has run out (edited in the database, as time would)."""
        login = await self.log_in(person)
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(
                    update(models.Session)
                    .where(models.Session.token_hash == token_digest(login.token))
                    .values(expires_at=utcnow() - timedelta(hours=1)))
                assert result.rowcount == 1
        finally:
            await engine.dispose()
        return login

    async def logged_out_login(self, person: Person) -> Person:
        login = await self.log_in(person)
        await self.expect(login, "POST", "/api/auth/logout", 204)
        return login

    async def invite(self, document_id: str, email: str, role: str = "viewer",
                     sections: list[str] | None = None) -> tuple[str, str]:
        """The invitation's id and its link's secret."""
        body: dict[str, Any] = {"email": email, "role": role, "reason": "help"}
        if sections is not None:
            body["sections"] = sections
        invitation = await self.expect(self.owner, "POST",
                                       f"/api/documents/{document_id}/invitations", 201, body)
        return str(invitation["id"]), by_link(invitation)["token"]

    async def add_member(self, document_id: str, name: str, role: str,
                         sections: list[str] | None = None) -> None:
        person = self.people[name]
        invitation_id, token = await self.invite(document_id, person.email, role, sections)
        await self.expect(person, "POST", f"/api/invitations/{invitation_id}/accept", 200,
                          {"token": token})

    async def add_section(self, document_id: str, title: str) -> str:
        section = await self.expect(self.owner, "POST", f"/api/documents/{document_id}/sections",
                                    201, {"title": title})
        return str(section["id"])

    async def build(self, members: Iterable[str] = tuple(MEMBER_ROLES)) -> World:
        """A fresh document shared with `members` (by default every member role): a few
        requests each, no password hashing."""
        document = await self.expect(self.owner, "POST", "/api/documents", 201,
                                     {"title": "Quarterly report"})
        document_id = str(document["id"])
        section_a = await self.add_section(document_id, "Budget")
        section_b = await self.add_section(document_id, "Methods")
        for name in members:
            role, scoped = MEMBER_ROLES[name]
            await self.add_member(document_id, name, role, [section_a] if scoped else None)
        pending, _ = await self.invite(document_id, outsider_email(), "reviewer")
        return World(document_id, section_a, section_b, pending)

    async def invite_request(self, document_id: str, requester: str = "editor") -> str:
        """A pending request, made by an editor, for the owner to answer."""
        request = await self.expect(
            self.people[requester], "POST", f"/api/documents/{document_id}/invite-requests",
            201, {"email": outsider_email(), "role": "viewer", "reason": "expertise"})
        return str(request["id"])


def outsider_email() -> str:
    """An address nobody has registered."""
    return f"outsider-{uuid.uuid4().hex[:12]}@example.org"


# Limits that these suites are not about: every caller registers and logs in from one address,
# and a fuzzer sends more than a person would. (A setting the server does not know is ignored.)
# Durability is not what they are about either: SQLite commits without waiting for the disk.
SUITE_SETTINGS = {
    "login_max_failures": "1000000",
    "registrations_per_hour": "0",
    "sqlite_synchronous": "NORMAL",
}


@asynccontextmanager
async def running_cast(directory: Path, postgres_url: str, *names: str) -> AsyncIterator[Cast]:
    """A server on a fresh database, with an owner and every member role signed up, and the
    extra accounts `names` (e.g. "stranger")."""
    async with fresh_database(directory, postgres_url) as database_url:
        server = ServerProcess(database_url, directory / "server.log", **SUITE_SETTINGS)
        await asyncio.to_thread(server.start)
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                cast = Cast(server, database_url, http)
                everyone = ("owner", *MEMBER_ROLES, *names)
                people = await asyncio.gather(*(cast.sign_up(name) for name in everyone))
                cast.people.update(zip(everyone, people, strict=True))
                yield cast
        finally:
            await asyncio.to_thread(server.stop)
