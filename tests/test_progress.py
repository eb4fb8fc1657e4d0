"""Progress for managers: counts from the text, never the text, and who contributes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import httpx
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from tests.support.api import Api, by_link
from tests.support.server import ServerProcess
from tests.support.yclient import YClient


async def test_progress_member_sees_counts_statuses_and_contributors_not_text(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(compaction_threshold="5", room_idle_seconds="0.2")
    alice = await Api(server.base_url).sign_up("Alice")
    manager = await Api(server.base_url).sign_up("Manager")
    try:
        document_id = await alice.create_document("Annual report")
        ids = []
        for title, status in (("Intro", "done"), ("Budget", "in_progress")):
            response = await alice.http.post(f"/api/documents/{document_id}/sections", json={
                "title": title, "status": status, "due_date": "2020-01-01",
                "assignee_id": alice.user["id"]})
            ids.append(response.json()["id"])
        client = await YClient(
            f"{server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}"
        ).connect_synced()
        secret = "The quarterly figures look grim, don't share"
        await client.edit(lambda d: d.get(f"section:{ids[0]}", type=XmlFragment).children.append(
            XmlElement("paragraph", contents=[XmlText(secret)])))
        for word in ("one ", "two ", "three ", "four ", "five "):
            await client.edit(functools.partial(_append_text, f"section:{ids[1]}", word))
        await client.close()
        async with httpx.AsyncClient(base_url=server.base_url) as http, asyncio.timeout(10):
            while (await http.get("/api/health")).json()["updates_written"] < 6:
                await asyncio.sleep(0.05)

        invitation = await alice.http.post(f"/api/documents/{document_id}/invitations", json={
            "email": manager.user["email"], "role": "progress", "reason": "progress",
            "message": "Keep an eye on the deadline"})
        await manager.http.post(f"/api/invitations/{invitation.json()['id']}/accept",
                                json=by_link(invitation.json()))

        response = await manager.http.get(f"/api/documents/{document_id}/progress")
        assert response.status_code == 200, response.text
        progress = response.json()
        assert secret not in response.text and "grim" not in response.text
        assert progress["role"] == "progress"
        assert [(s["title"], s["status"], s["words"], s["overdue"])
                for s in progress["sections"]] == [
            ("Intro", "done", 7, False), ("Budget", "in_progress", 5, True)]
        assert progress["sections_done"] == 1 and progress["sections_total"] == 2
        assert progress["words_total"] == 12
        # Six updates crossed the compaction threshold of five: the rows were merged into a
        # snapshot, and attribution still counts every edit.
        assert '"event": "store.compacted"' in server.logs()
        assert [(c["user"]["name"], c["edits"]) for c in progress["contributors"]] == [
            ("Alice", 6)]
        listed = (await manager.http.get("/api/progress")).json()
        assert [p["document_id"] for p in listed] == [document_id]
        assert (await manager.http.post(f"/api/documents/{document_id}/ticket")).status_code == 403
    finally:
        await alice.aclose()
        await manager.aclose()


def _append_text(root: str, text: str, doc: Doc[Any]) -> None:
    doc.get(root, type=XmlFragment).children.append(XmlText(text))
