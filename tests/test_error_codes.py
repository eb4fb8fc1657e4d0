"""Refusals a client acts on are machine-readable (issue 8, item 8): a 403, 409 or 429 carries a
stable `code` word beside its human `detail`, a 404 stays `{"detail"}` alone (a document one may
not see answers exactly as a missing one), and a websocket message over the size limit is closed
with `too-big: ` followed by its size and the limit, which the page shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Text, create_update_message

from tests.support.api import Api, by_link
from tests.support.server import ServerProcess
from tests.support.wire import RawConnection

pytestmark = pytest.mark.shared_server


async def test_conflicts_and_forbidden_actions_carry_a_code_and_a_human_detail(
    alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document("Codes")
    base = f"/api/documents/{document_id}"
    invite = {"email": bob.user["email"], "role": "viewer", "reason": "help"}
    first = await alice.http.post(f"{base}/invitations", json=invite)
    assert first.status_code == 201, first.text
    again = await alice.http.post(f"{base}/invitations", json=invite)
    assert again.status_code == 409
    assert again.json() == {"code": "already-pending",
                            "detail": "An invitation to this address is already pending"}

    accept = f"/api/invitations/{first.json()['id']}/accept"
    accepted = await bob.http.post(accept, json=by_link(first.json()))
    assert accepted.status_code == 200, accepted.text
    twice = await bob.http.post(accept, json=by_link(first.json()))
    assert (twice.status_code, twice.json()["code"]) == (409, "link-used-up")
    member = await alice.http.post(f"{base}/invitations", json=invite)
    assert (member.status_code, member.json()["code"]) == (409, "already-member")
    owner = await alice.http.post(f"{base}/invitations", json={**invite,
                                                               "email": alice.user["email"]})
    assert (owner.status_code, owner.json()["code"]) == (409, "is-owner")
    leave = await alice.http.delete(f"{base}/members/{alice.user['id']}")
    assert (leave.status_code, leave.json()["code"]) == (409, "owner-cannot-leave")

    as_viewer = await bob.http.get(f"{base}/invitations")
    assert as_viewer.status_code == 403
    assert as_viewer.json() == {"code": "owner-only", "detail": "Only the owner can do this"}
    add_section = await bob.http.post(f"{base}/sections", json={"title": "Mine"})
    assert (add_section.status_code, add_section.json()["code"]) == (403, "not-allowed")
    assert isinstance(add_section.json()["detail"], str) and add_section.json()["detail"]

    taken = await bob.http.post("/api/auth/register", json={
        "email": alice.user["email"], "password": "long enough password", "name": "Copy"})
    assert (taken.status_code, taken.json()["code"]) == (409, "email-taken")


async def test_a_404_is_the_same_bare_detail_for_hidden_and_missing_documents(
    alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document("Private")
    hidden = await bob.http.get(f"/api/documents/{document_id}")
    missing = await bob.http.get("/api/documents/no-such-document")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "Document not found"}


async def test_a_throttled_sign_in_says_rate_limited_and_when_to_retry(
    start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(login_max_failures="2")
    victim = await Api(server.base_url).sign_up("Victim")
    wrong = {"email": victim.user["email"], "password": "not the password at all"}
    statuses = [(await victim.http.post("/api/auth/login", json=wrong)).status_code
                for _ in range(2)]
    assert statuses == [401, 401]
    throttled = await victim.http.post("/api/auth/login", json=wrong)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "rate-limited"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "try again in" in throttled.json()["detail"]
    await victim.aclose()


async def test_a_message_too_big_is_closed_with_its_size_and_the_limit(
    start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(max_message_bytes="65536")
    api = await Api(server.base_url).sign_up()
    document_id = await api.create_document()
    conn = await RawConnection.open(server, api, document_id)
    big: Doc[Any] = Doc()
    big.get("body", type=Text).insert(0, "x" * 70_000)
    message = create_update_message(big.get_update())
    assert not await conn.roundtrip(message)
    assert conn.close_code == 1009
    assert conn.ws.close_reason == (
        f"too-big: a message of {len(message):,} bytes is over the limit of 65,536 bytes")
    await api.aclose()
