"""A refused request body is never echoed back (issue 7, item 13): a 422 names each field, what
is wrong and the error type, never the value sent (a password, a 10 MB title); text fields have
sane bounds; bodies beyond the request size limit get a 413 without being parsed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.server import ServerProcess

pytestmark = pytest.mark.shared_server

SECRET = "hunter2-correct-horse"


def _check_no_echo(response: httpx.Response, *sent: str) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text[:300]
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert set(item) == {"loc", "msg", "type"}, item
        assert isinstance(item["msg"], str) and len(item["msg"]) <= 300
    for value in sent:
        assert value not in response.text
    assert len(response.content) < 4096
    return list(detail)


async def test_a_422_lists_fields_and_errors_but_never_the_values(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document("Bounds")
    base = f"/api/documents/{document_id}"
    long_title = "T" * 100_000
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        short = await http.post("/api/auth/register", json={
            "email": "x@example.org", "password": SECRET[:5], "name": "X"})
        detail = _check_no_echo(short, SECRET[:5])
        assert [item["loc"] for item in detail] == [["body", "password"]]
        assert detail[0]["type"] == "string_too_short"

        wrong_type = await http.post("/api/auth/login", json={
            "email": f"not-an-email-{SECRET}", "password": [SECRET]})
        assert {tuple(i["loc"]) for i in _check_no_echo(wrong_type, SECRET)} == {
            ("body", "email"), ("body", "password")}

        broken = await http.post("/api/auth/login", content=f'{{"password": "{SECRET}"',
                                 headers={"content-type": "application/json"})
        _check_no_echo(broken, SECRET)

    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/api/documents", {"title": long_title}, long_title),
        ("PATCH", base, {"title": long_title}, long_title),
        ("POST", f"{base}/sections", {"title": long_title}, long_title),
        ("POST", f"{base}/sections", {"title": "S", "assignee_id": "a" * 5000}, "a" * 5000),
        ("POST", f"{base}/transfer", {"user_id": "u" * 5000}, "u" * 5000),
        ("PUT", f"{base}/sections/order", {"section_ids": ["s" * 5000]}, "s" * 5000),
        ("POST", f"{base}/invitations", {"email": "a@example.org", "role": "editor",
                                         "reason": "help", "sections": ["i" * 5000]}, "i" * 5000),
        ("POST", f"{base}/invitations", {"email": "a@example.org", "role": "viewer",
                                         "reason": "help", "message": "m" * 5000}, "m" * 5000),
    ]
    for method, path, body, sent in cases:
        _check_no_echo(await alice.http.request(method, path, json=body), sent)


async def test_a_body_beyond_the_limit_is_a_413(alice: Api) -> None:
    huge = "T" * (10 * 1024 * 1024)
    response = await alice.http.post("/api/documents", json={"title": huge})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["detail"]
    assert len(response.content) < 1024
    # Without a Content-Length (a chunked upload), the limit holds as the bytes arrive.

    async def chunks() -> Any:
        yield b'{"title": "'
        for _ in range(40):
            yield b"T" * (256 * 1024)
        yield b'"}'

    response = await alice.http.post("/api/documents", content=chunks(),
                                     headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert (await alice.http.get("/api/documents")).json() == []
