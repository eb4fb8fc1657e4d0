"""The progress digest by mail: it reaches a real SMTP server (aiosmtpd) on schedule, daily or
weekly, with the figures the dashboard keeps and never a word of the text; the second tells
only what moved since the first; whoever did not subscribe, or left a document out, gets
nothing of it. Rounds are run at moments the test picks (SIGUSR1); digest days last two seconds.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from app.digests import last_moment
from app.settings import Settings
from app.timeutil import utcnow
from tests.support.api import Api, clients_of
from tests.support.mailbox import Mailbox, VerifiedApi, body_of
from tests.support.server import ServerProcess
from tests.support.sharing import connect
from tests.support.traces import start_paragraph
from tests.test_attribution import _type
from tests.test_progress_dashboard import _until_counted

MARKERS = ["pangolinmarker", "okapimarker", "tapirmarker", "quokkamarker"]
_SCHEDULE = {"digest_day_seconds": "2", "digest_hour": "0", "digest_weekday": "0",
             "digest_check_seconds": "3600"}
_TIMING = Settings(**{k: float(v) for k, v in _SCHEDULE.items()})  # type: ignore[arg-type]
_TITLE = "Field guide <draft> & notes"


@pytest.fixture
async def people(start_server: Callable[..., ServerProcess],
                 mailbox: Mailbox) -> AsyncIterator[tuple[ServerProcess, Callable[[], Api]]]:
    server = start_server(**mailbox.settings(), **_SCHEDULE)
    async with clients_of(lambda: VerifiedApi(server.base_url, mailbox)) as make:
        yield server, make


def _digests(mailbox: Mailbox, api: Api) -> list[EmailMessage]:
    return [m for m in mailbox.to(api.user["email"]) if "progress digest" in m["Subject"]]


def _text_and_html(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    return (body_of(message).replace("\r\n", "\n"),
            str(html.get_content()).replace("\r\n", "\n"))


def _no_marker(message: EmailMessage) -> None:
    """No word of the text anywhere: not in the raw message, nor in its decoded parts."""
    text, html = _text_and_html(message)
    for place in (message.as_string(), text, html, message["Subject"]):
        assert not any(marker in place for marker in MARKERS), place


async def _digest(mailbox: Mailbox, api: Api, count: int) -> EmailMessage:
    """The `count`th digest to `api`'s user, once it has arrived."""
    async with asyncio.timeout(15):
        while len(received := _digests(mailbox, api)) < count:
            await asyncio.sleep(0.05)
    return received[count - 1]


async def _sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - utcnow()).total_seconds()))


async def _round(server: ServerProcess) -> None:
    """Run a digest round now, as an operator would."""
    os.kill(server.pid, signal.SIGUSR1)


async def _ok(api: Api, method: str, path: str, body: Any = None) -> Any:
    response = await api.http.request(method, path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_digests_tell_what_moved_daily_or_weekly_and_no_word_of_the_text(
    people: tuple[ServerProcess, Callable[[], Api]], mailbox: Mailbox
) -> None:
    server, make = people
    alice, pat, ula, wes, bob = [await make().sign_up(n)
                                 for n in ("Alice", "Pat", "Ula", "Wes", "Bob")]
    document_id = await alice.create_document(_TITLE)
    roots = [await alice.add_section(document_id, f"Chapter {n}") for n in range(3)]
    sections = [root.removeprefix("section:") for root in roots]
    base = f"/api/documents/{document_id}"
    await _ok(alice, "PATCH", f"{base}/sections/{sections[0]}", {"status": "done"})
    await _ok(alice, "PATCH", f"{base}/sections/{sections[1]}", {"due_date": "2020-01-01"})
    # A thousand words due in two days, at a pace of a few a day: at risk, for its owner.
    soon = (utcnow() + timedelta(days=2)).date().isoformat()
    await _ok(alice, "PATCH", f"{base}/sections/{sections[2]}",
              {"due_date": soon, "target_words": 1000})
    for member, role in ((pat, "progress"), (ula, "viewer"), (wes, "progress")):
        await alice.add_member(member, document_id, role, "progress")
    client = await connect(server, alice, document_id)
    for root, marker in zip(roots, MARKERS[:3], strict=True):
        await client.edit(functools.partial(start_paragraph, root=root))
        await _type(client, root, 0, f"Seen a {marker} today")
    await _until_counted(alice, document_id, 12)
    # A second document of Alice's, with a marker, that she leaves out of her digest.
    diary_id = await alice.create_document("Diary")
    diary_root = await alice.add_section(diary_id, "Monday")
    diary = await connect(server, alice, diary_id)
    await diary.edit(functools.partial(start_paragraph, root=diary_root))
    await _type(diary, diary_root, 0, f"A {MARKERS[3]} here")
    await diary.close()
    await _until_counted(alice, diary_id, 3)

    # Subscribe right after a weekly moment: the daily ones come every two seconds, the
    # weekly one not before fourteen.
    week_start = last_moment("weekly", utcnow(), _TIMING) + timedelta(seconds=14)
    await _sleep_until(week_start + timedelta(seconds=0.05))
    for api, frequency in ((alice, "daily"), (pat, "daily"), (wes, "weekly")):
        assert await _ok(api, "PATCH", "/api/progress/digest", {"frequency": frequency}) == {
            "frequency": frequency, "left_out": []}
    assert (await _ok(alice, "PUT", f"/api/progress/digest/documents/{diary_id}",
                      {"included": False}))["left_out"] == [diary_id]
    assert (await ula.http.put(f"/api/progress/digest/documents/{diary_id}",
                               json={"included": False})).status_code == 404
    assert (await _ok(ula, "GET", "/api/progress/digest")) == {"frequency": "off",
                                                                "left_out": []}

    await _sleep_until(week_start + timedelta(seconds=2.2))
    await _round(server)
    first = await _digest(mailbox, alice, 1)
    await _digest(mailbox, pat, 1)
    await asyncio.sleep(0.5)
    assert [len(_digests(mailbox, a)) for a in (alice, pat, ula, wes)] == [1, 1, 0, 0]
    for message in (first, _digests(mailbox, pat)[0]):
        _no_marker(message)
    text, html = _text_and_html(first)
    assert f"“{_TITLE}” (first digest)" in text and "Diary" not in text
    assert "12 words; 1 of 3 sections done" in text
    assert "Late sections: 1\n    - Chapter 1" in text
    assert "Flags: late" in text
    assert "At risk sections: 1\n    - Chapter 2" in text
    assert "At risk" not in _text_and_html(_digests(mailbox, pat)[0])[0], "only for its owner"
    assert f"{server.base_url}/#/progress" in text.splitlines()
    assert "Field guide &lt;draft&gt; &amp; notes" in html and "<draft>" not in html
    assert f'href="{server.base_url}/#/progress"' in html

    # A restart sends nothing twice: the round at start-up and one asked for find nothing
    # moved since the digests that went out.
    await client.close()
    await server.aterminate()
    server.restart()
    await _round(server)
    await asyncio.sleep(1)
    assert [len(_digests(mailbox, a)) for a in (alice, pat, ula, wes)] == [1, 1, 0, 0]
    client = await connect(server, alice, document_id)

    # Things move: a section is finished, words are added, a member joins.
    await _ok(alice, "PATCH", f"{base}/sections/{sections[1]}", {"status": "done"})
    await _type(client, roots[2], 0, "Two more ")
    await client.close()
    await alice.add_member(bob, document_id, "editor")
    await _until_counted(alice, document_id, 14)

    await _sleep_until(last_moment("daily", utcnow(), _TIMING) + timedelta(seconds=2.2))
    await _round(server)
    second = await _digest(mailbox, alice, 2)
    _no_marker(second)
    text, _ = _text_and_html(second)
    assert "first digest" not in text
    assert "14 words (+2); 2 of 3 sections done" in text
    assert "Sections done since the last digest: 1\n    - Chapter 1" in text
    assert "Chapter 0" not in text and "Late sections" not in text
    assert "New members: 1\n    - Bob" in text
    assert "Flags: silent" in text

    # The weekly moment: Wes's first digest (already out if the second round came after it:
    # it tells the same); Alice's daily round finds nothing moved.
    await _sleep_until(week_start + timedelta(seconds=14.2))
    await _round(server)
    weekly = await _digest(mailbox, wes, 1)
    _no_marker(weekly)
    assert "weekly" in weekly["Subject"]
    assert "14 words; 2 of 3 sections done" in _text_and_html(weekly)[0]
    await asyncio.sleep(0.5)
    assert [len(_digests(mailbox, a)) for a in (alice, pat, ula, wes, bob)] == [2, 2, 0, 1, 0]


def test_digest_moments_daily_at_the_hour_weekly_on_the_weekday() -> None:
    settings = Settings(digest_hour=7, digest_weekday=2)
    wednesday_noon = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert last_moment("daily", wednesday_noon, settings) == datetime(2026, 12, 2, 7,
                                                                      tzinfo=UTC)
    assert last_moment("daily", wednesday_noon.replace(hour=6), settings) == datetime(
        2026, 12, 1, 7, tzinfo=UTC)
    assert last_moment("weekly", wednesday_noon, settings) == datetime(2026, 12, 2, 7,
                                                                       tzinfo=UTC)
    assert last_moment("weekly", wednesday_noon.replace(hour=6), settings) == datetime(
        2026, 11, 25, 7, tzinfo=UTC)
