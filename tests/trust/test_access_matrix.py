"""Every route and the websocket, asked by every kind of caller, against a hand-written table
(issue 7, "the suite that finds the next ones").

The table below is written from DESIGN §1, §4 and §5 and the README's role table, not derived
from `app/permissions.py`: it is what the policy module is checked against. Its principles:
- without a session (none, expired, signed out) every private route answers 401, the
  websocket closes 4401 `signed-out`;
- a stranger (signed in, no grant) gets the 404 of a missing document on every route of a
  document, never a 403, byte for byte the answer for an id that does not exist, and cannot
  reach a document's sections, invitations, members or requests through a document of its own;
- a member whose role does not allow an action gets 403;
- a `progress` member never gets text: no ticket (403), no socket (4403 `progress-only`); the
  section list and progress are metadata it follows, so those answer 200.

A route present in the app but missing from the table fails, and so does a route that does not
depend on the signed-in-user dependency of `app/api/deps.py`, apart from a short allowlist.
Where the app answers differently from DESIGN, the table keeps DESIGN's answer and the cell is
a strict xfail listed in FINDINGS, for the integrator to fix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
import websockets
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount

from app.api.deps import SESSION_COOKIE, get_current_login
from app.main import create_app
from app.settings import Settings
from app.ws import DocumentSocketsApp
from tests.support.api import PASSWORD, by_link
from tests.support.world import (
    MEMBER_ROLES,
    Cast,
    Person,
    World,
    outsider_email,
    running_cast,
)

# --- the table -------------------------------------------------------------------------------

CALLERS = ("anonymous", "expired", "logged_out", "stranger",
           "owner", "editor", "section_editor", "reviewer", "viewer", "progress")
DOC = "/api/documents/{document_id}"

# One line per route (and per variant of a route, in brackets), one answer per caller:
#   anon: no session; exp: an expired session; out: a session that signed out (both the
#   owner's own); strg: signed in with no grant; sect: an editor scoped to section A.
# D stands for /api/documents/{document_id}. Websocket answers: `open` or the close code.
TABLE_TEXT = """
method path                                      anon exp  out  strg owner edit sect rev  view prog
GET    /openapi.json                             200  200  200  200  200  200  200  200  200  200
GET    /docs                                     200  200  200  200  200  200  200  200  200  200
GET    /                                         200  200  200  200  200  200  200  200  200  200
GET    /api/health                               200  200  200  200  200  200  200  200  200  200
POST   /api/auth/register                        201  201  201  201  201  201  201  201  201  201
POST   /api/auth/login                           200  200  200  200  200  200  200  200  200  200
POST   /api/auth/logout                          401  401  401  204  204  204  204  204  204  204
POST   /api/auth/verification                    401  401  401  409  409  409  409  409  409  409
POST   /api/auth/verify                          400  400  400  400  400  400  400  400  400  400
POST   /api/auth/password-reset                  409  409  409  409  409  409  409  409  409  409
POST   /api/auth/password-reset/confirm          400  400  400  400  400  400  400  400  400  400
GET    /api/me                                   401  401  401  200  200  200  200  200  200  200
POST   /api/documents                            401  401  401  201  201  201  201  201  201  201
GET    /api/documents                            401  401  401  200  200  200  200  200  200  200
GET    /api/invitations                          401  401  401  200  200  200  200  200  200  200
POST   /api/invitations/{invitation_id}/accept [own, by its link]
                                                 401  401  401  200  200  200  200  200  200  200
POST   /api/invitations/{invitation_id}/accept [own address, unverified, no link]
                                                 401  401  401  404  404  404  404  404  404  404
POST   /api/invitations/{invitation_id}/accept [someone else's]
                                                 401  401  401  404  404  404  404  404  404  404
POST   /api/invitations/{invitation_id}/decline [own, by its link]
                                                 401  401  401  200  200  200  200  200  200  200
POST   /api/invitations/{invitation_id}/decline [someone else's]
                                                 401  401  401  404  404  404  404  404  404  404
GET    /api/progress                             401  401  401  200  200  200  200  200  200  200
POST   /api/documents/import                     401  401  401  201  201  201  201  201  201  201
GET    /api/progress/digest                      401  401  401  200  200  200  200  200  200  200
PATCH  /api/progress/digest                      401  401  401  200  200  200  200  200  200  200
PUT    /api/progress/digest/documents/{document_id}
                                                 401  401  401  404  200  200  200  200  200  200
GET    /api/jobs/{job_id} [no such job]          401  401  401  404  404  404  404  404  404  404
GET    /api/jobs/{job_id}/file [no such job]     401  401  401  404  404  404  404  404  404  404
GET    /api/trash                                401  401  401  200  200  200  200  200  200  200
GET    /api/search                               401  401  401  200  200  200  200  200  200  200
GET    /api/notifications                        401  401  401  200  200  200  200  200  200  200
POST   /api/notifications/{notification_id}/read [the owner's]
                                                 401  401  401  404  200  404  404  404  404  404
GET    /api/notifications/mail                   401  401  401  200  200  200  200  200  200  200
PATCH  /api/notifications/mail                   401  401  401  200  200  200  200  200  200  200
GET    D/mentionable                             401  401  401  404  200  200  200  200  403  403
GET    D                                         401  401  401  404  200  200  200  200  200  200
GET    D [in the trash]                          401  401  401  404  404  404  404  404  404  404
POST   D/restore [in the trash]                  401  401  401  404  200  404  404  404  404  404
POST   D/restore [not deleted]                   401  401  401  404  409  403  403  403  403  403
PATCH  D                                         401  401  401  404  200  403  403  403  403  403
DELETE D                                         401  401  401  404  204  403  403  403  403  403
POST   D/ticket                                  401  401  401  404  200  200  200  200  200  403
GET    D/sections                                401  401  401  404  200  200  200  200  200  200
POST   D/sections                                401  401  401  404  201  201  403  403  403  403
PATCH  D/sections/{section_id} [status of A]     401  401  401  404  200  200  200  403  403  403
PATCH  D/sections/{section_id} [status of B]     401  401  401  404  200  200  403  403  403  403
PATCH  D/sections/{section_id} [rename A]        401  401  401  404  200  200  403  403  403  403
PUT    D/sections/order                          401  401  401  404  200  200  403  403  403  403
DELETE D/sections/{section_id}                   401  401  401  404  204  204  403  403  403  403
POST   D/invitations                             401  401  401  404  201  403  403  403  403  403
GET    D/invitations                             401  401  401  404  200  403  403  403  403  403
DELETE D/invitations/{invitation_id}             401  401  401  404  204  403  403  403  403  403
POST   D/invitations/{invitation_id}/link        401  401  401  404  200  403  403  403  403  403
GET    D/members                                 401  401  401  404  200  200  200  200  200  200
PATCH  D/members/{member_id} [someone else]      401  401  401  404  200  403  403  403  403  403
PATCH  D/members/{member_id} [own grant]         401  401  401  404  404  403  403  403  403  403
DELETE D/members/{member_id} [someone else]      401  401  401  404  204  403  403  403  403  403
DELETE D/members/{member_id} [leave]             401  401  401  404  409  204  204  204  204  204
POST   D/transfer                                401  401  401  404  200  403  403  403  403  403
POST   D/invite-requests                         401  401  401  404  403  201  201  403  403  403
GET    D/invite-requests                         401  401  401  404  200  200  200  200  200  200
POST   D/invite-requests/{request_id}/approve    401  401  401  404  200  403  403  403  403  403
POST   D/invite-requests/{request_id}/refuse     401  401  401  404  200  403  403  403  403  403
GET    D/log                                     401  401  401  404  200  200  200  200  200  200
GET    D/comments                                401  401  401  404  200  200  200  200  200  403
POST   D/comments                                401  401  401  404  201  201  201  201  403  403
PATCH  D/comments/{comment_id} [the owner's]     401  401  401  404  200  403  403  403  403  403
DELETE D/comments/{comment_id} [the owner's]     401  401  401  404  204  403  403  403  403  403
POST   D/comments/{comment_id}/accept            401  401  401  404  200  200  200  403  403  403
POST   D/comments/{comment_id}/reject            401  401  401  404  200  200  200  403  403  403
POST   D/comments/{comment_id}/resolve           401  401  401  404  200  200  200  403  403  403
POST   D/comments/{comment_id}/reopen            401  401  401  404  200  200  200  403  403  403
GET    D/progress                                401  401  401  404  200  200  200  200  200  200
GET    D/export                                  401  401  401  404  200  200  200  200  200  403
GET    D/versions                                401  401  401  404  200  200  200  403  403  403
POST   D/versions                                401  401  401  404  201  201  201  403  403  403
GET    D/versions/{version_id}                   401  401  401  404  200  200  200  403  403  403
GET    D/versions/{version_id}/diff              401  401  401  404  200  200  200  403  403  403
POST   D/versions/{version_id}/restore [A]       401  401  401  404  200  200  200  403  403  403
POST   D/versions/{version_id}/restore [B]       401  401  401  404  200  200  403  403  403  403
WS     /ws/{document_id}                         4401 4401 4401 4404 open open open open open 4403
WS     /ws/events                                4401 4401 4401 open open open open open open open
"""
# Why a few cells read as they do:
# - owner, PATCH its own "member" grant: the owner holds no grant to change (404, not a member);
# - owner, leave: the owner cannot leave before handing the document over (409);
# - owner, invite-requests: asking is how editors widen; the owner invites directly (403);
# - a document in the trash exists for nobody, its owner included, except to be restored by
#   the owner; restoring one that is not deleted is an owner's action (403), and a conflict;
# - an invitation reaches only who proves its address: by its link, or a verified address;
#   these accounts never verified theirs, so without the link it does not exist for them (404);
# - a notification is its recipient's alone: anyone else gets the 404 of a missing one;
# - whom a comment may mention is asked by those who may comment (viewers and progress: 403);
# - verification and password reset need mail: the matrix's server has none (409); a made-up
#   link's secret is refused (400), whoever sends it;
# - progress, sections and invite-requests lists: metadata, no text (200);
# - comments quote the text: progress members get 403 on every comment route; a section editor
#   comments everywhere and decides (accept, reject, resolve, reopen) in its own section A, where
#   the owner's suggestion under test sits; only the author (the owner here) edits, and the
#   author or the owner deletes;
# - history holds text deleted before a member came: the owner and editors open it, viewers,
#   reviewers and progress members get 403; a section editor restores only its section A.

# The stable first word of each websocket close reason (DESIGN §5).
CLOSE_WORDS = {4401: "signed-out", 4403: "progress-only", 4404: "not-found"}

# Cells where the app answers differently from DESIGN: (row label, caller) -> what differs.
# Each is a strict xfail: it fails the build once fixed, so the marker goes with the fix.
FINDINGS: dict[tuple[str, str], str] = {}

# Routes that need no signed-in user, each with why.
PUBLIC = {
    "GET /openapi.json": "the API description",
    "GET /docs": "the API description",
    "GET /": "the web app's static files; it signs in through the API",
    "GET /api/health": "for load balancers; tells nothing of anyone's documents",
    "POST /api/auth/register": "how an account begins",
    "POST /api/auth/login": "how a session begins",
    "POST /api/auth/verify": "the mailed link alone proves the address, from any browser",
    "POST /api/auth/password-reset": "whoever lost their password has no session",
    "POST /api/auth/password-reset/confirm": "the mailed link's secret is the credential",
    # Browsers send the cookie, other clients a ticket: `app.ws._admit` reads both itself,
    # and the WS line of the table checks it for every caller.
    "WS /ws/{document_id}": "authenticates in app.ws._admit (ticket or cookie)",
    # The live event channel: cookie (from an allowed origin) or bearer token, read by
    # `app.event_channel._admit`; what each user hears is the fan-out's (tests/test_live_events).
    "WS /ws/events": "authenticates in app.event_channel._admit (cookie or bearer)",
}

Expected = int | str


@dataclass(frozen=True, slots=True)
class Row:
    method: str
    path: str
    variant: str
    expected: dict[str, Expected]

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def label(self) -> str:
        return f"{self.route} [{self.variant}]" if self.variant else self.route


def _parse(text: str) -> list[Row]:
    """The table as written above; a line may carry its answers on the next line."""
    lines = [line for line in text.strip().splitlines()[1:] if line.strip()]
    rows: list[Row] = []
    pending = ""
    for line in lines:
        words = (pending + " " + line).split()
        if len(words) < 2 + len(CALLERS):
            pending = pending + " " + line
            continue
        pending = ""
        method, path, answers = words[0], words[1], words[-len(CALLERS):]
        variant = " ".join(words[2:-len(CALLERS)]).strip("[]")
        path = DOC + path[1:] if path.startswith("D") else path
        rows.append(Row(method, path, variant, {
            caller: answer if answer == "open" else int(answer)
            for caller, answer in zip(CALLERS, answers, strict=True)}))
    assert not pending, f"a table line has no answers: {pending!r}"
    return rows


ROWS = _parse(TABLE_TEXT)


# --- the app's routes, in process ------------------------------------------------------------

def _app() -> FastAPI:
    """The app as the server builds it, never started: its routes, nothing served."""
    return create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    """Every route as served, with included routers' prefixes and dependencies applied."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept apart: routes are flat
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def _original(route: Any) -> Any:
    return getattr(route, "route", route)


def app_routes(app: FastAPI) -> dict[str, Any]:
    """`"METHOD path"` -> the route serving it. HEAD goes with GET; the static web app mounted
    at `/` (or its placeholder) is `GET /`; the document sockets, the app itself."""
    routes: dict[str, Any] = {}
    for route in _route_contexts(app):
        original = _original(route)
        if isinstance(original, Mount):
            routes["GET /"] = route
        elif isinstance(original, APIWebSocketRoute):
            routes[f"WS {route.path}"] = route
        else:
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                routes[f"{method} {route.path}"] = route
    if isinstance(app, DocumentSocketsApp):  # ahead of the whole stack
        routes[f"WS {DocumentSocketsApp.PATH}"] = app
    return routes


def _depends_on(dependant: Dependant | None, call: Callable[..., Any]) -> bool:
    stack = [dependant] if dependant is not None else []
    while stack:
        current = stack.pop()
        if current.call is call:
            return True
        stack.extend(current.dependencies)
    return False


def test_every_route_of_the_app_is_in_the_table_and_no_other() -> None:
    """A new route cannot ship without someone writing down who may call it."""
    served = set(app_routes(_app()))
    tabled = {row.route for row in ROWS}
    assert sorted(served - tabled) == [], "routes missing from the access table"
    assert sorted(tabled - served) == [], "table rows for routes the app does not have"
    assert set(PUBLIC) <= served, "allowlisted routes the app does not have"
    assert all(len(row.expected) == len(CALLERS) for row in ROWS)


def test_every_private_route_depends_on_the_signed_in_user() -> None:
    """Authentication is a dependency every private route declares (`get_current_login`, which
    `CurrentUser` builds on), not a check each route remembers to make: only the allowlisted
    routes may go without it."""
    unguarded = [
        key for key, route in app_routes(_app()).items()
        if key not in PUBLIC
        and not (isinstance(_original(route), APIRoute)
                 and _depends_on(route.dependant, get_current_login))
    ]
    assert unguarded == []
    guarded_public = [
        key for key, route in app_routes(_app()).items()
        if key in PUBLIC and isinstance(_original(route), APIRoute)
        and _depends_on(route.dependant, get_current_login)
    ]
    assert guarded_public == [], "allowlisted routes that do require a session: unlist them"


# --- the callers and their world -------------------------------------------------------------

@dataclass
class Matrix:
    cast: Cast
    world: World
    callers: dict[str, Person | None]
    stranger_document: str
    checked: dict[str, Expected] = field(default_factory=dict)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def matrix(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Matrix]:
    """One server for the whole table: accounts and the shared document are made once."""
    directory = tmp_path_factory.mktemp("matrix")
    async with running_cast(directory, os.environ.get("WIDEN_TEST_DATABASE_URL", ""),
                            "stranger", "host") as cast:
        owner = cast.owner
        callers: dict[str, Person | None] = {
            "anonymous": None,
            "expired": await cast.expired_login(owner),
            "logged_out": await cast.logged_out_login(owner),
            **{name: cast.people[name] for name in CALLERS[3:]},
        }
        document = await cast.expect(cast.people["stranger"], "POST", "/api/documents", 201,
                                     {"title": "The stranger's own"})
        yield Matrix(cast, await cast.build(), callers, str(document["id"]))


@dataclass(frozen=True, slots=True)
class Call:
    """One request of a cell: the path's parameters, the body, who sends it, its query."""

    params: dict[str, str]
    body: Any = None
    person: Person | None = None
    # The non-document ids are the shared document's own: the same ids under another
    # document (the stranger's) must not reach them either.
    nested_ids: bool = False
    query: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    matrix: Matrix
    caller: str

    @property
    def cast(self) -> Cast:
        return self.matrix.cast

    @property
    def person(self) -> Person | None:
        return self.matrix.callers[self.caller]

    @property
    def identity(self) -> Person:
        """The account behind the caller (the owner's, for the sessions that ended)."""
        person = self.person
        return person if person is not None else self.cast.owner

    async def world(self, fresh: bool, *others: str) -> World:
        """The shared document, or a fresh one shared with the caller (if it is a member role)
        and `others`, for a cell whose success would change what later cells see."""
        if not fresh:
            return self.matrix.world
        members = [self.caller] if self.caller in MEMBER_ROLES else []
        return await self.cast.build([*members, *others])

    async def ensure_bystander(self, world: World) -> str:
        """The bystander is a member (an earlier cell may have revoked it): its id."""
        bystander = self.cast.people["bystander"]
        members = await self.cast.expect(self.cast.owner, "GET",
                                         f"/api/documents/{world.document_id}/members", 200)
        if bystander.user_id not in {m["user"]["id"] for m in members}:
            await self.cast.add_member(world.document_id, "bystander", "viewer")
        return bystander.user_id


Prepare = Callable[[Cell], Awaitable[Call]]


def _on_document(fresh: bool = False, body: Callable[[], Any] | None = None) -> Prepare:
    """The shared document (or a fresh one), with a body made anew for each cell."""
    async def prepare(cell: Cell) -> Call:
        world = await cell.world(fresh)
        return Call({"document_id": world.document_id}, body() if body is not None else None)
    return prepare


async def _in_the_trash(cell: Cell) -> Call:
    """A fresh document shared with the caller, then deleted by its owner."""
    world = await cell.world(fresh=True)
    await cell.cast.expect(cell.cast.owner, "DELETE", f"/api/documents/{world.document_id}",
                           204)
    return Call({"document_id": world.document_id})


async def _register(cell: Cell) -> Call:
    return Call({}, {"email": outsider_email(), "password": "matrix password",
                     "name": "Newcomer"})


async def _login(cell: Cell) -> Call:
    return Call({}, {"email": cell.cast.owner.email, "password": PASSWORD})


async def _made_up_link(cell: Cell) -> Call:
    return Call({}, {"token": "a-secret-nobody-was-ever-sent"})


async def _made_up_reset(cell: Cell) -> Call:
    return Call({}, {"token": "a-secret-nobody-was-ever-sent", "password": "new password 1"})


async def _reset_request(cell: Cell) -> Call:
    return Call({}, {"email": cell.identity.email})


async def _owners_notification(cell: Cell) -> Call:
    """A fresh invite request by the editor notifies the owner: that notification's id."""
    await cell.cast.invite_request(cell.matrix.world.document_id)
    inbox = await cell.cast.expect(cell.cast.owner, "GET", "/api/notifications", 200)
    return Call({"notification_id": str(inbox[0]["id"])})


async def _mail_choice(cell: Cell) -> Call:
    return Call({}, {"reply": False})


async def _logout(cell: Cell) -> Call:
    """A signed-in caller signs out a login of its own, so its session outlives the cell."""
    person = cell.person
    if person is None or cell.caller in ("expired", "logged_out"):
        return Call({})
    return Call({}, person=await cell.cast.log_in(person))


def _invitation_to(own: bool, link: bool = True) -> Prepare:
    async def prepare(cell: Cell) -> Call:
        """A fresh document of the host's, with an invitation to the caller's address (or to
        somebody else's), answered with its link's secret (only if `link` and `own`)."""
        host = cell.cast.people["host"]
        document = await cell.cast.expect(host, "POST", "/api/documents", 201,
                                          {"title": "Elsewhere"})
        email = cell.identity.email if own else outsider_email()
        invitation = await cell.cast.expect(
            host, "POST", f"/api/documents/{document['id']}/invitations", 201,
            {"email": email, "role": "viewer", "reason": "review"})
        body = by_link(invitation) if own and link else None
        return Call({"invitation_id": str(invitation["id"])}, body)
    return prepare


def _section(which: str, body: dict[str, str]) -> Prepare:
    async def prepare(cell: Cell) -> Call:
        world = cell.matrix.world
        section = world.section_a if which == "A" else world.section_b
        return Call({"document_id": world.document_id, "section_id": section}, body,
                    nested_ids=True)
    return prepare


async def _searching(cell: Cell) -> Call:
    return Call({}, query={"q": "quick report"})


async def _markdown_file(cell: Cell) -> Call:
    return Call({}, files={"file": ("notes.md", b"# Notes\n\nA line.\n", "text/markdown")})


async def _digest_choice(cell: Cell) -> Call:
    return Call({}, {"frequency": "weekly"})


async def _made_up_job(cell: Cell) -> Call:
    """A job nobody started: a job is its starter's alone, and an unknown id is a 404."""
    return Call({"job_id": uuid.uuid4().hex})


async def _export(cell: Cell) -> Call:
    world = await cell.world(False)
    return Call({"document_id": world.document_id}, query={"format": "md"})


async def _order(cell: Cell) -> Call:
    """Every section, in reverse: the order must list exactly the current sections."""
    document_id = cell.matrix.world.document_id
    sections = await cell.cast.expect(cell.cast.owner, "GET",
                                      f"/api/documents/{document_id}/sections", 200)
    return Call({"document_id": document_id},
                {"section_ids": [s["id"] for s in reversed(sections)]})


async def _new_section(cell: Cell) -> Call:
    document_id = cell.matrix.world.document_id
    section_id = await cell.cast.add_section(document_id, "Appendix")
    return Call({"document_id": document_id, "section_id": section_id}, nested_ids=True)


async def _new_invitation(cell: Cell) -> Call:
    document_id = cell.matrix.world.document_id
    invitation_id, _ = await cell.cast.invite(document_id, outsider_email())
    return Call({"document_id": document_id, "invitation_id": invitation_id}, nested_ids=True)


def _member(target: str, body: Any = None) -> Prepare:
    async def prepare(cell: Cell) -> Call:
        if target == "self":
            world = await cell.world(fresh=True)
            member_id = cell.identity.user_id
        else:
            world = cell.matrix.world
            member_id = await cell.ensure_bystander(world)
        return Call({"document_id": world.document_id, "member_id": member_id}, body,
                    nested_ids=target != "self")
    return prepare


async def _transfer(cell: Cell) -> Call:
    world = await cell.world(True, "bystander")
    return Call({"document_id": world.document_id},
                {"user_id": cell.cast.people["bystander"].user_id}, nested_ids=True)


async def _new_request(cell: Cell) -> Call:
    document_id = cell.matrix.world.document_id
    request_id = await cell.cast.invite_request(document_id)
    return Call({"document_id": document_id, "request_id": request_id}, nested_ids=True)


def _version(section: str | None) -> Prepare:
    """A version the owner names now, restored whole or (`section` "A"/"B") in part."""
    async def prepare(cell: Cell) -> Call:
        world = cell.matrix.world
        version = await cell.cast.expect(
            cell.cast.owner, "POST", f"/api/documents/{world.document_id}/versions", 201,
            {"name": "Matrix"})
        body = None
        if section is not None:
            body = {"sections": [world.section_a if section == "A" else world.section_b]}
        return Call({"document_id": world.document_id, "version_id": version["id"]}, body,
                    nested_ids=True)
    return prepare


# A comment anchor: two Yjs relative positions, opaque to the server (bounded bytes).
_ANCHOR = {"start": "ALlgAwA=", "end": "ALlgCAA="}


def _owners_suggestion(resolved: bool = False) -> Prepare:
    """A fresh suggestion by the owner on section A (resolved first, for reopen)."""
    async def prepare(cell: Cell) -> Call:
        world = cell.matrix.world
        comments = f"/api/documents/{world.document_id}/comments"
        made = await cell.cast.expect(cell.cast.owner, "POST", comments, 201, {
            "section_id": world.section_a, "anchor": _ANCHOR, "quote": "quick",
            "body": "shorter?", "suggestion": "fast"})
        if resolved:
            await cell.cast.expect(cell.cast.owner, "POST",
                                   f"{comments}/{made['id']}/resolve", 200)
        return Call({"document_id": world.document_id, "comment_id": made["id"]},
                    {"body": "edited"}, nested_ids=True)
    return prepare


async def _new_comment(cell: Cell) -> Call:
    world = cell.matrix.world
    return Call({"document_id": world.document_id}, {
        "section_id": world.section_a, "anchor": _ANCHOR, "quote": "q", "body": "a remark"})


PREPARE: dict[str, Prepare] = {
    "POST /api/auth/register": _register,
    "POST /api/auth/login": _login,
    "POST /api/auth/logout": _logout,
    "POST /api/documents": _on_document(body=lambda: {"title": "Mine"}),
    # Every signed-in caller may search; what each finds is tests/test_search.py's concern.
    "GET /api/search": _searching,
    "POST /api/documents/import": _markdown_file,
    "PATCH /api/progress/digest": _digest_choice,
    "PUT /api/progress/digest/documents/{document_id}": _on_document(
        body=lambda: {"included": False}),
    "GET /api/jobs/{job_id} [no such job]": _made_up_job,
    "GET /api/jobs/{job_id}/file [no such job]": _made_up_job,
    f"GET {DOC}/export": _export,
    "POST /api/auth/verify": _made_up_link,
    "POST /api/notifications/{notification_id}/read [the owner's]": _owners_notification,
    "PATCH /api/notifications/mail": _mail_choice,
    "POST /api/auth/password-reset": _reset_request,
    "POST /api/auth/password-reset/confirm": _made_up_reset,
    "POST /api/invitations/{invitation_id}/accept [own, by its link]": _invitation_to(own=True),
    "POST /api/invitations/{invitation_id}/accept [own address, unverified, no link]":
        _invitation_to(own=True, link=False),
    "POST /api/invitations/{invitation_id}/accept [someone else's]": _invitation_to(own=False),
    "POST /api/invitations/{invitation_id}/decline [own, by its link]": _invitation_to(own=True),
    "POST /api/invitations/{invitation_id}/decline [someone else's]": _invitation_to(own=False),
    f"PATCH {DOC}": _on_document(body=lambda: {"title": "Quarterly report, revised"}),
    f"DELETE {DOC}": _on_document(fresh=True),
    f"GET {DOC} [in the trash]": _in_the_trash,
    f"POST {DOC}/restore [in the trash]": _in_the_trash,
    f"POST {DOC}/sections": _on_document(body=lambda: {"title": "Annex"}),
    f"PATCH {DOC}/sections/{{section_id}} [status of A]": _section("A", {"status": "in_review"}),
    f"PATCH {DOC}/sections/{{section_id}} [status of B]": _section("B", {"status": "in_review"}),
    f"PATCH {DOC}/sections/{{section_id}} [rename A]": _section("A", {"title": "Costs"}),
    f"PUT {DOC}/sections/order": _order,
    f"DELETE {DOC}/sections/{{section_id}}": _new_section,
    f"POST {DOC}/invitations": _on_document(body=lambda: {
        "email": outsider_email(), "role": "viewer", "reason": "review"}),
    f"DELETE {DOC}/invitations/{{invitation_id}}": _new_invitation,
    f"POST {DOC}/invitations/{{invitation_id}}/link": _new_invitation,
    f"PATCH {DOC}/members/{{member_id}} [someone else]": _member("bystander", {"role": "reviewer"}),
    f"PATCH {DOC}/members/{{member_id}} [own grant]": _member("self", {"role": "editor"}),
    f"DELETE {DOC}/members/{{member_id}} [someone else]": _member("bystander"),
    f"DELETE {DOC}/members/{{member_id}} [leave]": _member("self"),
    f"POST {DOC}/transfer": _transfer,
    f"POST {DOC}/invite-requests": _on_document(body=lambda: {
        "email": outsider_email(), "role": "viewer", "reason": "expertise"}),
    f"POST {DOC}/invite-requests/{{request_id}}/approve": _new_request,
    f"POST {DOC}/invite-requests/{{request_id}}/refuse": _new_request,
    f"POST {DOC}/comments": _new_comment,
    f"POST {DOC}/versions": _on_document(body=lambda: {"name": "Sent to client"}),
    f"GET {DOC}/versions/{{version_id}}": _version(None),
    f"GET {DOC}/versions/{{version_id}}/diff": _version(None),
    f"POST {DOC}/versions/{{version_id}}/restore [A]": _version("A"),
    f"POST {DOC}/versions/{{version_id}}/restore [B]": _version("B"),
    f"PATCH {DOC}/comments/{{comment_id}} [the owner's]": _owners_suggestion(),
    f"DELETE {DOC}/comments/{{comment_id}} [the owner's]": _owners_suggestion(),
    f"POST {DOC}/comments/{{comment_id}}/accept": _owners_suggestion(),
    f"POST {DOC}/comments/{{comment_id}}/reject": _owners_suggestion(),
    f"POST {DOC}/comments/{{comment_id}}/resolve": _owners_suggestion(),
    f"POST {DOC}/comments/{{comment_id}}/reopen": _owners_suggestion(resolved=True),
}


async def _prepare(cell: Cell, row: Row) -> Call:
    prepare = PREPARE.get(row.label)
    if prepare is None:
        assert set(_placeholders(row.path)) <= {"document_id"}, f"no setup for {row.label}"
        prepare = _on_document()
    return await prepare(cell)


def _placeholders(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


# --- asking --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Expected
    detail: Any


async def _http(cast: Cast, person: Person | None, method: str, path: str,
                body: Any, files: dict[str, tuple[str, bytes, str]] | None = None) -> Answer:
    response = await cast.call(person, method, path, body, files)
    if response.status_code >= 400:
        # Errors are JSON {"detail": ...} (DESIGN §4), whoever asks.
        assert "detail" in response.json(), response.text
        return Answer(response.status_code, response.json())
    return Answer(response.status_code, None)


async def _socket(cast: Cast, person: Person | None, path: str) -> Answer:
    """A browser's socket: the session cookie (if any) from an allowed origin."""
    headers = {"Origin": cast.server.base_url}
    if person is not None:
        headers["Cookie"] = f"{SESSION_COOKIE}={person.token}"
    async with asyncio.timeout(10), websockets.connect(
        f"{cast.server.base_url.replace('http', 'ws', 1)}{path}", additional_headers=headers
    ) as ws:
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            return Answer(int(ws.close_code or 0), ws.close_reason)
        return Answer("open", None)


async def _ask(cast: Cast, person: Person | None, row: Row, call: Call) -> Answer:
    path = row.path.format(**call.params)
    if call.query:
        path = f"{path}?{urlencode(call.query)}"
    if row.method == "WS":
        return await _socket(cast, person, path)
    return await _http(cast, person, row.method, path, call.body, call.files)


def _describe(answer: Answer) -> str:
    return f"{answer.outcome} {answer.detail!r}"


def _cells() -> Iterator[Any]:
    for row in ROWS:
        for caller in CALLERS:
            finding = FINDINGS.get((row.label, caller))
            marks = [pytest.mark.xfail(strict=True, reason=finding)] if finding else []
            yield pytest.param(row, caller, id=f"{row.label} | {caller}", marks=marks)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("row", "caller"), list(_cells()))
async def test_cell(matrix: Matrix, row: Row, caller: str) -> None:
    """One caller asking one route: the answer the table gives, and for a stranger, the
    answer a document that does not exist gets."""
    cell = Cell(matrix, caller)
    call = await _prepare(cell, row)
    person = call.person if call.person is not None else cell.person
    expected = row.expected[caller]
    answer = await _ask(matrix.cast, person, row, call)
    matrix.checked[f"{row.label} | {caller}"] = answer.outcome
    assert answer.outcome == expected, f"{row.label} as {caller}: {_describe(answer)}"
    if isinstance(expected, int) and expected in CLOSE_WORDS and row.method == "WS":
        assert str(answer.detail).startswith(CLOSE_WORDS[expected]), answer.detail

    if caller == "stranger" and "document_id" in call.params:
        # Exactly what a document that does not exist answers: nothing tells them apart.
        missing = dataclasses.replace(call, params={**call.params,
                                                     "document_id": str(uuid.uuid4())})
        assert await _ask(matrix.cast, person, row, missing) == answer
        if call.nested_ids:
            # Our sections, invitations, members and requests, through a document of its own.
            own = dataclasses.replace(call, params={**call.params,
                                                    "document_id": matrix.stranger_document})
            reached = await _ask(matrix.cast, person, row, own)
            assert reached.outcome == 404, f"{row.label} via its own document: {reached}"


@pytest.mark.asyncio(loop_scope="module")
async def test_the_server_logged_no_error(matrix: Matrix) -> None:
    """No cell made the server fail behind its answer (a background task, a closed socket):
    refusals are answers, not errors."""
    errors = []
    for line in matrix.cast.server.logs().splitlines():
        if line.startswith(("Traceback", "Fatal Python error", "Segmentation fault")):
            errors.append(line)
        elif line.startswith("{") and json.loads(line).get("level") in ("error", "critical"):
            errors.append(line[:300])
    assert errors == []


@pytest.mark.asyncio(loop_scope="module")
async def test_summary(matrix: Matrix, request: pytest.FixtureRequest,
                       capsys: pytest.CaptureFixture[str]) -> None:
    """How much the matrix checked, printed for the closing note of issue 7; every cell
    selected in this run must have asked its route."""
    module = request.node.nodeid.rsplit("::", 1)[0]
    selected = [item.nodeid for item in request.session.items
                if item.nodeid.startswith(f"{module}::test_cell[")]
    routes = len({row.route for row in ROWS})
    with capsys.disabled():
        print(f"\naccess matrix: {routes} routes x {len(CALLERS)} callers "
              f"({len(ROWS)} rows with variants, {len(ROWS) * len(CALLERS)} cells); "
              f"{len(matrix.checked)} of {len(selected)} selected cells checked; "
              f"{len(FINDINGS)} findings (strict xfail)")
    assert len(matrix.checked) == len(selected) > 0
