"""Schedules against a clock the test moves: late, stalled and on track, and the at-risk flag
(by pace towards a section's target, or by silence near its date), which only the document's
owner and the section's assignee see; who may set a section's target length."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, XmlFragment, XmlText
from pydantic import ValidationError

from app.settings import Settings
from tests.support.api import Api
from tests.support.clock import TestClock
from tests.support.server import ServerProcess
from tests.support.yclient import YClient


def _words(count: int, doc: Doc[Any], root: str) -> None:
    doc.get(root, type=XmlFragment).children.append(XmlText("word " * count))


async def _section(api: Api, document_id: str, title: str, due: date,
                   target_words: int | None = None, **fields: Any) -> str:
    """A new section; its target, if any, set as the owner does, by a PATCH."""
    url = f"/api/documents/{document_id}/sections"
    response = await api.http.post(url, json={
        "title": title, "status": "in_progress", "due_date": due.isoformat(), **fields})
    assert response.status_code == 201, response.text
    section_id = str(response.json()["id"])
    if target_words is not None:
        response = await api.http.patch(f"{url}/{section_id}",
                                        json={"target_words": target_words})
        assert response.status_code == 200, response.text
    return section_id


def _by_title(progress: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["title"]: s for s in progress["sections"]}


def _schedule(progress: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    return {title: (s["schedule"], s["at_risk"] and s["at_risk"]["reason"])
            for title, s in _by_title(progress).items()}


async def test_schedules_and_at_risk_follow_the_test_clock(
    start_server: Callable[..., ServerProcess], tmp_path: Path,
) -> None:
    clock = TestClock(tmp_path / "clock")
    server = start_server(**clock.settings())
    owner = await Api(server.base_url).sign_up("Owner")
    try:
        document_id = await owner.create_document("Handbook")
        day0 = clock.today()
        ids = {
            "Late": await _section(owner, document_id, "Late", day0 + timedelta(days=1)),
            "Quiet": await _section(owner, document_id, "Quiet", day0 + timedelta(days=4)),
            "Behind": await _section(owner, document_id, "Behind", day0 + timedelta(days=9),
                                     target_words=1000),
            "On pace": await _section(owner, document_id, "On pace", day0 + timedelta(days=9),
                                      target_words=30),
            "Done": await _section(owner, document_id, "Done", day0 + timedelta(days=1),
                                   status="done"),
        }
        client = await YClient(f"{server.ws_url}/{document_id}"
                               f"?ticket={await owner.ticket(document_id)}").connect_synced()
        for title in ("Late", "Quiet", "Behind", "On pace"):
            await client.edit(functools.partial(_words, 10, root=f"section:{ids[title]}"))
        await server.wait_written(4)
        # Day 0: everything is on track, nothing at risk (Quiet was edited just now).
        assert _schedule(await owner.progress(document_id)) == {
            "Late": ("on_track", None), "Quiet": ("on_track", None),
            "Behind": ("on_track", "pace"), "On pace": ("on_track", None),
            "Done": ("done", None)}

        clock.advance(days=2)
        await client.edit(lambda doc: _words(10, doc, f"section:{ids['On pace']}"))
        await server.wait_written(5)
        progress = await owner.progress(document_id)
        assert _schedule(progress) == {
            "Late": ("late", None),
            # Due in 2 days, no edit for 2: at risk although not stalled.
            "Quiet": ("on_track", "quiet"),
            # 990 words to go at 10 words in 3 days.
            "Behind": ("on_track", "pace"),
            # 10 words to go at 20 in 3 days: on pace.
            "On pace": ("on_track", None),
            "Done": ("done", None)}
        sections = _by_title(progress)
        assert sections["Behind"]["at_risk"]["explanation"] == (
            "needs 990 more words in 8 days; the last 7 days averaged 3 a day")
        assert sections["Quiet"]["at_risk"]["explanation"] == (
            "no edit for 2 days, and it is due in 2 days")
        assert sections["Behind"]["target_words"] == 1000

        # Day 9: On pace had no edit for 7 days (WIDEN_PROGRESS_STALLED_DAYS), is due today,
        # and its pace is the last 7 days', measured from day 2's kept count: nothing since.
        clock.advance(days=7)
        progress = await owner.progress(document_id)
        assert _schedule(progress) == {
            "Late": ("late", None), "Quiet": ("late", None), "Behind": ("stalled", "pace"),
            "On pace": ("stalled", "pace"), "Done": ("done", None)}
        assert _by_title(progress)["On pace"]["at_risk"]["explanation"] == (
            "needs 10 more words in 1 day; the last 7 days averaged 0 a day")
        await client.close()
    finally:
        await owner.aclose()


async def test_at_risk_only_for_owner_and_assignee_and_who_sets_targets(
    start_server: Callable[..., ServerProcess], tmp_path: Path,
) -> None:
    clock = TestClock(tmp_path / "clock")
    server = start_server(**clock.settings())
    owner = await Api(server.base_url).sign_up("Owner")
    writer = await Api(server.base_url).sign_up("Writer")
    other = await Api(server.base_url).sign_up("Other editor")
    manager = await Api(server.base_url).sign_up("Manager")
    try:
        document_id = await owner.create_document("Grant proposal")
        await owner.add_member(writer, document_id, "editor")
        await owner.add_member(other, document_id, "editor")
        await owner.add_member(manager, document_id, "progress", reason="progress")
        due = clock.today() + timedelta(days=5)
        mine = await _section(owner, document_id, "Mine", due, assignee_id=writer.user["id"])
        theirs = await _section(owner, document_id, "Theirs", due)
        url = f"/api/documents/{document_id}/sections"

        # Targets: the owner and the assignee set them; other editors and managers may not.
        for api, section_id, expected in (
                (writer, mine, 200), (owner, theirs, 200), (other, mine, 403),
                (manager, mine, 403), (writer, theirs, 403)):
            response = await api.http.patch(f"{url}/{section_id}", json={"target_words": 500})
            assert response.status_code == expected, (api.user["name"], response.text)
        for bad in (0, -5, 1_000_001, "many", 2.5):
            response = await owner.http.patch(f"{url}/{mine}", json={"target_words": bad})
            assert response.status_code == 422, (bad, response.text)
        sections = {s["id"]: s for s in (await owner.http.get(url)).json()}
        assert sections[mine]["target_words"] == 500 and sections[theirs]["target_words"] == 500
        # The scoped refusal is about the target, not the rest: another editor still sets
        # a status.
        response = await other.http.patch(f"{url}/{mine}", json={"status": "in_review"})
        assert response.status_code == 200, response.text

        # 500 words in 6 days with none written: both at risk by pace.
        seen = {api.user["name"]: {s["title"]: s["at_risk"] for s in
                                   (await api.progress(document_id))["sections"]}
                for api in (owner, writer, other, manager)}
        assert seen["Owner"]["Mine"]["reason"] == "pace"
        assert seen["Owner"]["Theirs"]["reason"] == "pace"
        assert seen["Writer"]["Mine"]["explanation"] == (
            "needs 500 more words in 6 days; the last 7 days averaged 0 a day")
        assert seen["Writer"]["Theirs"] is None
        assert seen["Other editor"] == {"Mine": None, "Theirs": None}
        assert seen["Manager"] == {"Mine": None, "Theirs": None}

        # Null clears the target, and with it the flag (the sections were edited never, but
        # their date is 5 days off: not near enough for silence).
        response = await writer.http.patch(f"{url}/{mine}", json={"target_words": None})
        assert response.status_code == 200 and response.json()["target_words"] is None
        assert _by_title(await writer.progress(document_id))["Mine"]["at_risk"] is None
    finally:
        for api in (owner, writer, other, manager):
            await api.aclose()


def test_the_test_clock_is_refused_without_its_test_flag(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="for tests only"):
        Settings(test_clock_file=tmp_path / "clock")
    assert Settings(test_clock_file=tmp_path / "clock", test_clock_allowed=True).test_clock_file
