"""What an operator sees: the health route and the log, which must never carry secrets or text."""

from __future__ import annotations

import json

import httpx

from tests.support.api import PASSWORD, Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient


async def test_health_reports_database_rooms_connections_and_pending_writes(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    client = await YClient(
        f"{live_server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}"
    ).connect_synced()
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        health = (await http.get("/api/health")).json()
    assert health["status"] == "ok" and health["database"] is True
    assert health["rooms"] == 1 and health["connections"] == 1
    assert health["pending_writes"] >= 0
    await client.close()


async def test_log_is_one_json_object_per_line_without_secrets_or_text(
    live_server: ServerProcess, alice: Api
) -> None:
    secret_text = "The merger closes on Friday"
    document_id = await alice.create_document("Confidential title")
    ticket = await alice.ticket(document_id)
    client = await YClient(f"{live_server.ws_url}/{document_id}?ticket={ticket}").connect_synced()
    await client.append(secret_text)
    await client.close()
    refused = YClient(f"{live_server.ws_url}/{document_id}?ticket={ticket}")  # reused ticket
    await refused.connect()
    await refused.wait_closed()
    await live_server.aterminate()

    log = live_server.logs()
    lines = [line for line in log.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line parses
    assert {"ws.joined", "ws.left", "ws.refused", "http.request"} <= {e.get("event")
                                                                      for e in events}
    for forbidden in (ticket, alice.token, PASSWORD, secret_text, "ticket=", "Confidential"):
        assert forbidden not in log, f"{forbidden!r} leaked into the log"
