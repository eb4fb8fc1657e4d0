"""The dashboard (`GET /api/progress`) and what the progress page adds to the report: words
over time, flags, "since you last looked"; none of it holds a word of the text."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from tests.support.api import Api
from tests.support.rows import store_update_rows
from tests.support.server import ServerProcess
from tests.support.sharing import connect
from tests.support.traces import start_paragraph
from tests.test_attribution import _type

MARKERS = ["pangolinmarker", "okapimarker", "tapirmarker"]


async def _dashboard(api: Api) -> dict[str, dict[str, Any]]:
    response = await api.http.get("/api/progress")
    assert response.status_code == 200, response.text
    assert not any(marker in response.text for marker in MARKERS)
    return {row["document_id"]: row for row in response.json()}


async def _until_counted(api: Api, document_id: str, words: int) -> dict[str, Any]:
    """The dashboard's row once the edit window has counted `words` (no page was opened).

    Its words and its trend are read by two statements, which on SQLite see the database at
    two moments (SELECTs run outside a transaction): a row committed in between shows in one
    and not yet in the other, until the next request."""
    async with asyncio.timeout(20):
        while (row := (await _dashboard(api)).get(document_id)) is None \
                or row["words_total"] != words or row["trend"][-1] != words:
            await asyncio.sleep(0.1)
    return row


async def test_dashboard_rows_come_from_kept_counts_and_hold_no_text(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(progress_visit_gap_seconds="1")
    alice = await Api(server.base_url).sign_up("Alice")
    pat = await Api(server.base_url).sign_up("Pat")
    bob = await Api(server.base_url).sign_up("Bob")
    try:
        document_id = await alice.create_document("Field guide")
        roots = [await alice.add_section(document_id, f"Chapter {n}") for n in range(3)]
        section_ids = [root.removeprefix("section:") for root in roots]
        base = f"/api/documents/{document_id}"
        assert (await alice.http.patch(f"{base}/sections/{section_ids[0]}",
                                       json={"status": "done"})).status_code == 200
        assert (await alice.http.patch(f"{base}/sections/{section_ids[1]}",
                                       json={"due_date": "2020-01-01"})).status_code == 200
        await alice.add_member(pat, document_id, "progress", "progress")
        client = await connect(server, alice, document_id)
        for root, marker in zip(roots, MARKERS, strict=True):
            await client.edit(functools.partial(start_paragraph, root=root))
            await _type(client, root, 0, f"Seen a {marker} today")
        row = await _until_counted(pat, document_id, 12)

        assert row["title"] == "Field guide" and row["role"] == "progress"
        assert (row["sections_total"], row["sections_done"]) == (3, 1)
        assert row["status_counts"] == {"draft": 2, "in_progress": 0, "in_review": 0,
                                        "done": 1}
        assert (row["late"], row["stalled"], row["next_due"]) == (1, 0, "2020-01-01")
        assert [f["flag"] for f in row["flags"]] == ["late"]
        assert all(f["explanation"] for f in row["flags"])
        assert len(row["trend"]) == 14 and row["trend"][-1] == 12

        # Pat's first look: nothing to compare with yet.
        first = await pat.progress(document_id)
        assert first["since_last_visit"] is None
        assert [(d["words"], d["sections"]) for d in first["words_series"]] == [
            (12, dict.fromkeys(section_ids, 4))]
        # A second load within the gap is the same visit.
        assert (await pat.progress(document_id))["since_last_visit"] is None

        # Things move: a section is finished, words are added, a member joins.
        assert (await alice.http.patch(f"{base}/sections/{section_ids[1]}",
                                       json={"status": "done"})).status_code == 200
        await _type(client, roots[2], 0, "Two more ")
        await client.close()
        await alice.add_member(bob, document_id, "editor")
        row = await _until_counted(pat, document_id, 14)
        assert row["flags"] and [f["flag"] for f in row["flags"]] == ["silent"]
        await asyncio.sleep(1.1)

        response = await pat.http.get(f"{base}/progress")
        assert not any(marker in response.text for marker in MARKERS)
        since = response.json()["since_last_visit"]
        assert since["previous_visit_at"] is not None
        assert [(c["title"], c["words_before"], c["words_now"], c["status_before"],
                 c["status_now"]) for c in since["sections"]] == [
            ("Chapter 1", 4, 4, "draft", "done"), ("Chapter 2", 4, 6, "draft", "draft")]
        assert (since["chars_inserted"], since["active_user_ids"]) == (
            len("Two more "), [alice.user["id"]])
        assert [m["name"] for m in since["new_members"]] == ["Bob"]
        assert (since["flags_raised"], since["flags_cleared"]) == (["silent"], ["late"])
        # A reload within the gap is the same visit: it still says what moved.
        again = (await pat.progress(document_id))["since_last_visit"]
        assert again is not None and again["new_members"] == since["new_members"]
        series = response.json()["words_series"]
        assert [d["words"] for d in series] == [14]
    finally:
        for api in (alice, pat, bob):
            await api.aclose()


async def test_a_document_never_counted_is_counted_in_the_background_once_listed(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Its rows were written as a server from before kept counts would have: the dashboard
    answers at once without its words, then has them, no progress page opened."""
    server = start_server()
    alice = await Api(server.base_url).sign_up("Alice")
    try:
        document_id = await alice.create_document("Older")
        root = await alice.add_section(document_id, "Part")
        doc: Doc[Any] = Doc()
        doc.get(root, type=XmlFragment).children.append(
            XmlElement("paragraph", contents=[XmlText("alpha beta gamma")]))
        await store_update_rows(server.database_url, document_id, [doc.get_update()],
                                alice.user["id"])
        first = (await _dashboard(alice))[document_id]
        assert first["words_total"] is None and first["trend"][-1] is None
        row = await _until_counted(alice, document_id, 3)
        assert row["trend"][-1] == 3
    finally:
        await alice.aclose()
