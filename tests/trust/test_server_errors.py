"""A server error is answered, logged once with its status, and leaks nothing (issue 7,
item 14): an exception used to escape the access-log middleware, so a 500 had no
`http.request` line, and the database error that caused it logged the SQL parameters (the
request's text).

A real fault is made by renaming a table under the running server, from the test.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.api import Api
from tests.support.server import ServerProcess

SECRET = "SECRET-SECTION-TITLE"


async def _sql(database_url: str, statement: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _entries(server: ServerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]


async def test_a_500_is_in_the_access_log_without_the_request_text(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document("Faulty")
    path = f"/api/documents/{document_id}/sections"
    await _sql(live_server.database_url, "ALTER TABLE sections RENAME TO sections_away")
    try:
        response = await alice.http.post(path, json={"title": SECRET})
    finally:
        await _sql(live_server.database_url, "ALTER TABLE sections_away RENAME TO sections")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response.headers["x-content-type-options"] == "nosniff"

    entries = _entries(live_server)
    requests = [e for e in entries if e.get("event") == "http.request" and e["path"] == path]
    assert [(e["method"], e["status"]) for e in requests] == [("POST", 500)]
    errors = [e for e in entries if e["level"] == "error"]
    assert [e.get("event") for e in errors] == ["http.error"]
    assert errors[0]["path"] == path and "sections" in errors[0]["exc"]
    assert SECRET not in live_server.logs()

    # The server goes on: the same request works once the table is back.
    response = await alice.http.post(path, json={"title": "Back"})
    assert response.status_code == 201, response.text
