"""Schemathesis against the served OpenAPI schema (issue 7, "the suite that finds the next
ones"): generated requests to every operation, signed in as an owner and, separately, as a
member (a whole-document editor), with real ids in the paths and bodies so requests reach
past the 404 of an unknown id; then stateful runs that chain operations through the links
schemathesis infers (a created document's id into its sections, members, log...).

Checked: no answer is a 5xx, and every documented answer matches its schema. Every 5xx is
collected (method, path, body) and reported at once, not just the first.

CI runs a bounded number of examples per operation, derandomized so a run repeats; the long
mode (`WIDEN_LONG=1`, `make trust-long`) runs many more, freshly random each time.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error, response_schema_conformance

from app.main import create_app
from app.settings import Settings
from tests.support.world import MEMBER_ROLES, Cast, Person, World, running_cast

LONG = os.environ.get("WIDEN_LONG") == "1"
# Examples per operation and identity; password hashing makes the account routes slow, so
# they get fewer. The server sets the pace: at 20 (before read-only operations shared a
# document) this file took 206 s alone here, at 12 it takes 106 s.
EXAMPLES = 1000 if LONG else 12
EXAMPLES_HASHING = 100 if LONG else 8
# Stateful: scenarios per identity, calls per scenario, scenarios per Hypothesis run.
SCENARIOS = 300 if LONG else 12
STEPS = 12 if LONG else 6
STATEFUL_RUN = 25

PUBLIC = {"POST /api/auth/register", "POST /api/auth/login", "GET /api/health"}
HASHING = {"POST /api/auth/register", "POST /api/auth/login"}
# Identities the fuzzer signs in as: the document's owner, and a member of it.
IDENTITIES = ("owner", "editor")

# Known 5xx findings, (operation, identity) -> what fails; each is a strict xfail.
FINDINGS: dict[tuple[str, str], str] = {}

# The server, not the generator, sets the pace: no deadline, no health check about speed or
# rejected draws, and no example database (a CI run starts clean and repeats itself).
SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=not LONG,
    suppress_health_check=list(HealthCheck),
)


def _operations() -> list[str]:
    """The operations of the schema as the app describes it, without serving it."""
    schema = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    return [f"{method.upper()} {path}" for path, methods in schema["paths"].items()
            for method in methods]


OPERATIONS = _operations()


@dataclass(frozen=True, slots=True)
class ServerError:
    method: str
    path: str
    body: Any
    status: int
    kind: str = ""

    def __str__(self) -> str:
        return (f"{self.status} {self.method} {self.path} {json.dumps(self.body)[:300]}"
                f"{f' ({self.kind})' if self.kind else ''}")


@dataclass
class Fuzz:
    cast: Cast
    schema: Any
    # A document of someone else's: ids no identity has a grant on.
    foreign_document: str
    # A second login of each person, made before any request was fuzzed, for the logout
    # examples to end: fuzzed wrong-password logins throttle this address, so a login made
    # later may get 429 (the long mode's 1,000 login examples did).
    spare_logins: dict[str, Person]
    cases: dict[str, int] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[ServerError] = field(default_factory=list)
    # Stateful Hypothesis runs that stopped early on FlakyStrategyDefinition.
    cut_short: int = 0
    # Operations seen answering 422 with a string `detail` (the schema documents a list).
    string_422s: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Per identity, the ids (of a document and its parts) the read-only operations share.
    read_only: dict[str, Ids] = field(default_factory=dict)

    def count(self, kind: str, status: int) -> None:
        with self.lock:
            self.cases[kind] = self.cases.get(kind, 0) + 1
            self.statuses[status] += 1

    def record(self, method: str, path: str, body: Any, status: int,
               kind: str) -> ServerError:
        error = ServerError(method, path, body, status, kind)
        with self.lock:
            self.server_errors.append(error)
        return error


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzz(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fuzz]:
    directory = tmp_path_factory.mktemp("schema-fuzz")
    async with running_cast(directory, os.environ.get("WIDEN_TEST_DATABASE_URL", ""),
                            "stranger", "host") as cast:
        schema = await asyncio.to_thread(
            schemathesis.openapi.from_url, f"{cast.server.base_url}/openapi.json")
        served = {f"{method.upper()} {path}"
                  for path, methods in schema.raw_schema["paths"].items() for method in methods}
        assert served == set(OPERATIONS), "the served schema is the app's"
        foreign = await cast.expect(cast.people["stranger"], "POST", "/api/documents", 201,
                                    {"title": "Not yours"})
        spare = await asyncio.gather(*(cast.log_in(p) for p in cast.people.values()))
        yield Fuzz(cast, schema, str(foreign["id"]), dict(zip(cast.people, spare, strict=True)))


@dataclass(frozen=True, slots=True)
class Ids:
    """Real values for the parameters the schema cannot know, per name."""

    paths: dict[str, list[str]]
    bodies: dict[str, list[Any]]


async def _owners_comment(cast: Cast, world: World) -> str:
    """A suggestion of the owner's on section A, for the comment routes to address."""
    made = await cast.expect(cast.owner, "POST", f"/api/documents/{world.document_id}/comments",
                             201, {"section_id": world.section_a,
                                   "anchor": {"start": "ALlgAwA=", "end": "ALlgCAA="},
                                   "quote": "quick", "body": "shorter?", "suggestion": "fast"})
    return str(made["id"])


async def _owners_version(cast: Cast, world: World) -> str:
    """A version the owner named, for the history routes to address."""
    made = await cast.expect(cast.owner, "POST", f"/api/documents/{world.document_id}/versions",
                             201, {"name": "Fuzzed"})
    return str(made["id"])


async def _ids(fuzz: Fuzz, world: World, identity: str) -> Ids:
    """Everything a caller could meaningfully address: the world's document and its parts, a
    document it has no grant on, an invitation to itself, a pending invite request."""
    cast = fuzz.cast
    person = cast.people[identity]
    host = cast.people["host"]
    elsewhere = await cast.expect(host, "POST", "/api/documents", 201, {"title": "Elsewhere"})
    mine = await cast.expect(host, "POST", f"/api/documents/{elsewhere['id']}/invitations", 201,
                             {"email": person.email, "role": "viewer", "reason": "review"})
    request_id = await cast.invite_request(world.document_id)
    comment_id = await _owners_comment(cast, world)
    version_id = await _owners_version(cast, world)
    members = [cast.people[name].user_id for name in MEMBER_ROLES] + [cast.owner.user_id]
    sections = [world.section_a, world.section_b]
    return Ids(
        paths={
            "document_id": [world.document_id, world.document_id, fuzz.foreign_document],
            "section_id": sections,
            "invitation_id": [world.pending_invitation, str(mine["id"])],
            "member_id": members,
            "request_id": [request_id],
            "comment_id": [comment_id],
            "version_id": [version_id],
        },
        bodies={
            "user_id": members,
            "assignee_id": members,
            "email": [cast.people[name].email for name in MEMBER_ROLES],
            "sections": [[world.section_a], sections],
            "section_ids": [sections, sections[::-1]],
        },
    )


def _with_real_ids(case: Any, ids: Ids, data: st.DataObject) -> None:
    """Swap generated values for real ones, most of the time (keeping the generated value in
    the draw, so unknown ids are still tried)."""
    for name, value in list((case.path_parameters or {}).items()):
        if name in ids.paths:
            case.path_parameters[name] = data.draw(st.sampled_from([*ids.paths[name], value]))
    if isinstance(case.body, dict):
        for name, value in list(case.body.items()):
            if name in ids.bodies:
                case.body[name] = data.draw(st.sampled_from([*ids.bodies[name], value]))


def _check(fuzz: Fuzz, case: Any, response: Any, kind: str) -> None:
    """No 5xx (each recorded, for the report); every documented answer conforms, but for
    the one known way it does not (see `test_every_422_has_the_documented_shape`)."""
    fuzz.count(kind, response.status_code)
    if response.status_code >= 500:
        error = fuzz.record(case.method, case.formatted_path, case.body, response.status_code,
                            kind)
        raise AssertionError(f"server error: {error}")
    if response.status_code == 422 and isinstance(_detail(response), str):
        with fuzz.lock:
            fuzz.string_422s.add(f"{case.method} {case.path}")
        return
    case.validate_response(response, checks=[not_a_server_error,
                                             response_schema_conformance])


def _detail(response: Any) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("detail") if isinstance(body, dict) else None


def _identities(operation: str) -> Iterator[Any]:
    for identity in (("anonymous",) if operation in PUBLIC else IDENTITIES):
        finding = FINDINGS.get((operation, identity))
        marks = [pytest.mark.xfail(strict=True, reason=finding)] if finding else []
        yield pytest.param(operation, identity, id=f"{operation} | {identity}", marks=marks)


async def _ids_for(fuzz: Fuzz, identity: str, *, read_only: bool) -> Ids:
    """The ids of a document of the operation's own and its parts, or, for a read-only
    operation, of the one the identity's read-only operations share: building one takes about
    twenty requests, more than a short run's examples."""
    if read_only and identity in fuzz.read_only:
        return fuzz.read_only[identity]
    ids = await _ids(fuzz, await fuzz.cast.build(),
                     identity if identity != "anonymous" else "editor")
    if read_only:
        fuzz.read_only[identity] = ids
    return ids


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("operation", "identity"),
                         [p for op in OPERATIONS for p in _identities(op)])
async def test_operation(fuzz: Fuzz, operation: str, identity: str) -> None:
    """Generated requests to one operation, on a document of its own (a delete or a transfer
    among the examples changes only that one; read-only operations share one), with no 5xx
    and conforming answers."""
    cast = fuzz.cast
    method, path = operation.split(" ", 1)
    ids = await _ids_for(fuzz, identity, read_only=method == "GET")
    person = cast.people.get(identity)
    if person is not None and operation == "POST /api/auth/logout":
        # A login of its own: signing out among the examples ends only this one.
        person = fuzz.spare_logins[identity]
    headers = person.headers() if person is not None else {}
    api_operation = fuzz.schema[path][method]
    base_url = cast.server.base_url
    examples = EXAMPLES_HASHING if operation in HASHING else EXAMPLES

    session = requests.Session()
    answered: list[int] = []

    @settings(SETTINGS, max_examples=examples)
    @given(case=api_operation.as_strategy(), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        _with_real_ids(case, ids, data)
        response = case.call(base_url=base_url, headers=headers, session=session)
        answered.append(response.status_code)
        _check(fuzz, case, response, "stateless")

    try:
        await asyncio.to_thread(run)
    finally:
        session.close()
    assert answered, "no example reached the server"


def _workflow(fuzz: Fuzz, person: Person) -> type[Any]:
    """The stateful machine schemathesis infers from the schema (a response's ids feed the
    operations that take them), signed in as `person`. The account routes stay out: they hash
    passwords (slow) or end the very session the run uses."""
    machine = fuzz.schema.exclude(path_regex="^/api/auth/").as_state_machine()
    base_url = fuzz.cast.server.base_url

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": person.headers()}

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            _check(fuzz, case, response, "stateful")

    return Workflow


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("identity", IDENTITIES)
async def test_stateful(fuzz: Fuzz, identity: str) -> None:
    """Sequences of calls, each step using what an earlier one answered: no 5xx anywhere.

    The server's state carries over from one scenario to the next (a document deleted, a
    member gone), so Hypothesis may find that replaying a scenario no longer draws the same
    rules, and stop its run with FlakyStrategyDefinition. That says nothing about the server:
    the run goes on in a fresh Hypothesis run until the scenario budget is spent. Every 5xx is
    recorded as it happens, whichever run it happens in."""
    await fuzz.cast.build()
    workflow = _workflow(fuzz, fuzz.cast.people[identity])
    runs = max(1, SCENARIOS // STATEFUL_RUN)
    for _ in range(runs):
        try:
            await asyncio.to_thread(workflow.run, settings=settings(
                SETTINGS, max_examples=SCENARIOS // runs, stateful_step_count=STEPS))
        except FlakyStrategyDefinition:
            fuzz.cut_short += 1
    assert fuzz.cases.get("stateful", 0) > 0
    assert [e for e in fuzz.server_errors if e.kind == "stateful"] == []


@pytest.mark.asyncio(loop_scope="module")
async def test_the_server_logged_no_error_for_generated_requests(fuzz: Fuzz) -> None:
    """A failure a client never sees (a background task after the answer, a worker crash the
    route papered over) still shows in the server's own log: none may appear. Runs after the
    generated requests above and before the hostile ones below, which log their 500s."""
    errors = [record for record in _log_records(fuzz.cast.server.logs())
              if record.get("level") in ("error", "critical")]
    assert errors == [], "\n".join(
        f"{r.get('logger')}: {r.get('msg')} {str(r.get('exc', '')).splitlines()[-1:]}"
        for r in errors)


def _log_records(text: str) -> Iterator[dict[str, Any]]:
    """The server's JSON log lines. Raw output (warnings print there) counts as an error only
    when it is a traceback or the interpreter dying."""
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            fatal = line.startswith(("Traceback", "Fatal Python error", "Segmentation fault"))
            record = {"level": "error" if fatal else "raw", "logger": "stderr", "msg": line}
        if isinstance(record, dict):
            yield record


# --- what generation does not try: hostile strings ------------------------------------------

# A lone surrogate is valid JSON (`"\\ud800"`) and a valid Python string, but no UTF-8 text:
# it breaks whatever encodes it next (a database driver, a log line, the echo in a 422).
HOSTILE = "\ud800"


def _resolve(node: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    options = [o for o in node.get("anyOf", []) if _resolve(o, spec).get("type") != "null"]
    return _resolve(options[0], spec) if options else node


_FORMATS = {"email": "someone@example.org", "date-time": "2100-01-01T00:00:00Z",
            "date": "2100-01-01"}


def _minimal(node: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The smallest value the schema accepts: required properties only."""
    node = _resolve(node, spec)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    kind = str(node.get("type"))
    if kind == "object":
        required = set(node.get("required", []))
        return {name: _minimal(prop, spec) for name, prop in node.get("properties", {}).items()
                if name in required}
    return {"array": [], "string": _FORMATS.get(node.get("format", ""), "plain text"),
            "integer": 1, "number": 1, "boolean": True}.get(kind)


def _hostile_bodies(operation: dict[str, Any], spec: dict[str, Any]) -> Iterator[Any]:
    """The minimal body with, in turn, each free-text field (or list of them) hostile."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return
    schema = _resolve(content["schema"], spec)
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(prop, spec)
        if "enum" in prop or "const" in prop:
            continue
        body = _minimal(schema, spec)
        if prop.get("type") == "string":
            value = _minimal(prop, spec)
            body[name] = value[:1] + HOSTILE + value[1:]
            yield body
        elif _resolve(prop.get("items", {}), spec).get("type") == "string":
            body[name] = [HOSTILE]
            yield body


# Who sends each hostile body: the role that gets past the access check to the real work.
HOSTILE_AS = {"POST /api/documents/{document_id}/invite-requests": "editor"}


async def _hostile_answer(cast: Cast, person: Person, method: str, path: str,
                          body: Any) -> int:
    """The status, on a connection of its own (a server error may take the connection down
    with it); 599 when no answer came at all."""
    try:
        response = await cast.http.request(
            method, path, content=json.dumps(body),
            headers={**person.headers(), "Content-Type": "application/json",
                     "Connection": "close"})
    except httpx.TransportError:
        return 599
    return response.status_code


@pytest.mark.asyncio(loop_scope="module")
async def test_lone_surrogates_in_every_text_field_get_a_4xx(fuzz: Fuzz) -> None:
    """Every free-text field of every body, in turn, with a lone surrogate: a 4xx, never a
    5xx (DESIGN §4: never a 500 for bad input). Generation never sends one, so this does."""
    cast = fuzz.cast
    spec = fuzz.schema.raw_schema
    world = await cast.build()
    ids = {"document_id": world.document_id, "section_id": world.section_a,
           "invitation_id": world.pending_invitation,
           "member_id": cast.people["bystander"].user_id,
           "request_id": await cast.invite_request(world.document_id),
           "comment_id": await _owners_comment(cast, world),
           "version_id": await _owners_version(cast, world)}
    failures: list[ServerError] = []
    sent = 0
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            person = cast.people[HOSTILE_AS.get(label, "owner")]
            for body in _hostile_bodies(operation, spec):
                status = await _hostile_answer(cast, person, method.upper(),
                                               path.format(**ids), body)
                sent += 1
                fuzz.count("hostile", status)
                if status >= 500:
                    failures.append(ServerError(method.upper(), path, body, status))
    assert sent > 0
    assert failures == [], "\n".join(map(str, failures))


@pytest.mark.asyncio(loop_scope="module")
async def test_every_422_has_the_documented_shape(fuzz: Fuzz) -> None:
    """A client generated from the schema can read every 422: the ones the routes raise
    themselves too, not only the ones request validation makes."""
    cast = fuzz.cast
    world = await cast.build()
    document = f"/api/documents/{world.document_id}"
    refused = [
        ("POST", f"{document}/invitations", {"email": "late@example.org", "role": "viewer",
                                             "reason": "help",
                                             "expires_at": "2000-01-01T00:00:00Z"}),
        ("POST", f"{document}/invitations", {"email": "scoped@example.org", "role": "viewer",
                                             "reason": "help", "sections": [world.section_a]}),
        ("PUT", f"{document}/sections/order", {"section_ids": [world.section_a]}),
        ("POST", f"{document}/sections", {"title": "x",
                                          "assignee_id": cast.people["stranger"].user_id}),
    ]
    shapes = []
    for method, path, body in refused:
        response = await cast.call(cast.owner, method, path, body)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        shapes.append((method, path, isinstance(detail, list)
                       and all({"loc", "msg", "type"} <= set(d) for d in detail)))
    assert [shape for shape in shapes if not shape[2]] == []


@pytest.mark.asyncio(loop_scope="module")
async def test_summary(fuzz: Fuzz, capsys: pytest.CaptureFixture[str]) -> None:
    """How many cases ran, for the closing note of issue 7."""
    with capsys.disabled():
        print(f"\nschema fuzz: {sum(fuzz.cases.values())} cases "
              f"({', '.join(f'{k}: {v}' for k, v in sorted(fuzz.cases.items()))}), "
              f"answers {dict(sorted(fuzz.statuses.items()))}, "
              f"{len(fuzz.server_errors)} server errors from generated requests, "
              f"{fuzz.cut_short} stateful runs cut short"
              f"{' (long mode)' if LONG else ''}; string-detail 422s from: "
              f"{', '.join(sorted(fuzz.string_422s)) or 'none'}")
        for error in fuzz.server_errors:
            print(f"  server error: {error}")
    assert sum(fuzz.cases.values()) > 0
