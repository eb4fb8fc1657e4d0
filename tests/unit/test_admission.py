"""Websocket admissions checked in batches (`app.admission`, `app.ws_admission`): whoever knocks
while a check runs is checked in the next one; each socket of a batch gets the verdict a check
of its own would have given; a knock that waits too long is shed; a failed check answers every
socket of its batch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from app.admission import AdmissionFailed, AdmissionGate
from app.close_codes import AccessCloseCode
from app.db import create_sqlite_thread_engine
from app.services import Services
from app.ws_admission import Admitted, Knock, KnockChecker, Refused
from crdt.batching import Shed
from tests.unit.conftest import AppFactory, client_of

ORIGIN = "http://widen.test"


class _SlowCheck:
    """Answers each knock with itself, a little later; remembers the batches it was given."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.batches: list[list[int]] = []

    async def __call__(self, knocks: Sequence[int]) -> list[int]:
        self.batches.append(list(knocks))
        await asyncio.sleep(self.seconds)
        return list(knocks)


async def test_knocks_that_come_while_a_check_runs_are_checked_together_in_the_next() -> None:
    check = _SlowCheck(0.05)
    gate = AdmissionGate(check, batch=100, wait_seconds=5)
    first = asyncio.create_task(gate(0))
    await asyncio.sleep(0.01)  # the first check is running
    verdicts = await asyncio.gather(first, *(gate(n) for n in range(1, 51)))
    assert verdicts == list(range(51))
    assert check.batches == [[0], list(range(1, 51))]


async def test_a_batch_holds_at_most_its_size() -> None:
    check = _SlowCheck(0.0)
    gate = AdmissionGate(check, batch=20, wait_seconds=5)
    assert await asyncio.gather(*(gate(n) for n in range(50))) == list(range(50))
    assert [len(batch) for batch in check.batches] == [20, 20, 10]


async def test_a_knock_that_waits_longer_than_the_gate_allows_is_shed_unchecked() -> None:
    check = _SlowCheck(0.2)
    gate = AdmissionGate(check, batch=1, wait_seconds=0.05)
    outcomes = await asyncio.gather(*(gate(n) for n in range(3)), return_exceptions=True)
    assert outcomes[0] == 0
    assert all(isinstance(outcome, Shed) for outcome in outcomes[1:]), outcomes
    assert check.batches == [[0]]
    assert gate.shed == 2


async def test_a_failed_check_fails_its_batch_once_and_the_gate_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = True

    async def check(knocks: Sequence[int]) -> list[int]:
        await asyncio.sleep(0)
        if failing:
            raise ConnectionError("database away")
        return list(knocks)

    gate = AdmissionGate(check, batch=100, wait_seconds=5)
    with caplog.at_level(logging.ERROR, logger="widen.admission"):
        outcomes = await asyncio.gather(*(gate(n) for n in range(5)),
                                        return_exceptions=True)
    assert all(isinstance(outcome, AdmissionFailed) for outcome in outcomes), outcomes
    assert len(caplog.records) == 1
    failing = False
    assert await gate(7) == 7


@pytest.mark.parametrize("on_thread", [True, False], ids=["sqlite-thread", "async-session"])
async def test_each_socket_of_one_batch_gets_its_own_verdict(start_app: AppFactory,
                                                             on_thread: bool) -> None:
    app = await start_app()
    services: Services = app.state.services
    thread_engine = (create_sqlite_thread_engine(services.settings) if on_thread else None)
    check = KnockChecker(services.sessions, {ORIGIN}, thread_engine=thread_engine)
    async with client_of(app) as owner, client_of(app) as member, \
            client_of(app) as watcher, client_of(app) as gone, client_of(app) as stranger:
        await owner.sign_up("Owner")
        document_id = await owner.create_document("Batched")
        other_document = await owner.create_document("Other")
        for api, role in ((member, "editor"), (watcher, "progress"), (gone, "editor")):
            await api.sign_up()
            await owner.add_member(api, document_id, role)
        await stranger.sign_up()
        ticket = await member.ticket(document_id)
        misplaced = await owner.ticket(document_id)
        gone_ticket = await gone.ticket(document_id)
        assert (await gone.http.post("/api/auth/logout")).status_code == 204

        def knock(*, ticket: str | None = None, cookie: str | None = None,
                  origin: str = ORIGIN, document: str = document_id) -> Knock:
            return Knock(document, ticket=ticket, cookie=cookie, origin=origin)

        knocks = [
            knock(ticket=ticket),                       # admitted
            knock(ticket=ticket),                       # the same ticket again: spent
            knock(ticket=misplaced, document=other_document),  # not spent: see below
            knock(ticket=gone_ticket),                  # its login signed out
            knock(ticket="made-up"),
            knock(cookie=owner.token),                  # admitted, the owner
            knock(cookie=owner.token, document=other_document),  # admitted too
            knock(cookie=owner.token, origin="https://evil.example"),
            knock(cookie="made-up"),
            knock(),                                    # nothing presented
            knock(cookie=watcher.token),                # progress only
            knock(cookie=stranger.token),               # no grant
        ]
        try:
            verdicts = await check(knocks)
            [later] = await check([knock(ticket=misplaced)])
        finally:
            check.close()
            if thread_engine is not None:
                thread_engine.dispose()

    assert [_outcome(verdict) for verdict in verdicts] == [
        ("admitted", member.user["id"], "editor"),
        (AccessCloseCode.NOT_FOUND, "not-found"),
        (AccessCloseCode.NOT_FOUND, "not-found"),
        (AccessCloseCode.NOT_FOUND, "not-found"),
        (AccessCloseCode.NOT_FOUND, "not-found"),
        ("admitted", owner.user["id"], "owner"),
        ("admitted", owner.user["id"], "owner"),
        (AccessCloseCode.FORBIDDEN, "origin"),
        (AccessCloseCode.UNAUTHORIZED, "signed-out"),
        (AccessCloseCode.UNAUTHORIZED, "signed-out"),
        (AccessCloseCode.FORBIDDEN, "progress-only"),
        (AccessCloseCode.NOT_FOUND, "not-found"),
    ]
    assert _outcome(later) == ("admitted", owner.user["id"], "owner")


def _outcome(verdict: Admitted | Refused) -> tuple[object, ...]:
    if isinstance(verdict, Refused):
        return (verdict.code, verdict.reason.split(":")[0])
    return ("admitted", verdict.user_id, verdict.role.value)

