"""Pages stay live, no polling (issue 8 item 4): two browsers, and what one does shows in the
other within a second through the live event channel, with no reload.

Each change is made through the API of the acting person's browser context; the clock runs from
just before the request to the moment the other page shows it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Locator, expect

from tests.e2e.conftest import TIMEOUT_MS, Person, Widen

# Its figures are how fast a change shows: it runs alone (`timing`), not beside other tests.
pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timing]

WITHIN_S = 1.0


async def _live(person: Person) -> None:
    """The page's live channel listens (the app marks it on <html>)."""
    await expect(person.page.locator("html")).to_have_attribute("data-live", "ready",
                                                                timeout=TIMEOUT_MS)


async def _shows_within(change: Callable[[], Awaitable[object]],
                        shown: Callable[[], Awaitable[None]], what: str) -> float:
    started = time.monotonic()
    await change()
    await shown()
    elapsed = time.monotonic() - started
    assert elapsed < WITHIN_S, f"{what} took {elapsed:.2f} s to show"
    return elapsed


def _card(person: Person, document_id: str) -> Locator:
    return person.page.locator(f'li.doc-card[data-document-id="{document_id}"]')


async def test_a_rename_a_new_section_a_deletion_and_a_revocation_show_in_the_other_browser(
    widen: Widen,
) -> None:
    ada = await widen.person("Ada Lovelace")
    ben = await widen.person("Ben Editor")
    document_id, (summary_id,) = await ada.create_document("Field notes", ["Summary"])

    # --- the owner's sharing line: private until someone joins
    await ada.goto("/")
    await _live(ada)
    await expect(_card(ada, document_id)).to_contain_text("Private", timeout=TIMEOUT_MS)
    invitation = await ada.invite(document_id, ben, "editor", "help")

    async def ben_joins() -> None:
        await ben.accept(invitation)

    async def ada_sees_shared() -> None:
        await expect(_card(ada, document_id)).to_contain_text("Shared with 1", timeout=2000)

    await _shows_within(ben_joins, ada_sees_shared, "someone joining, on the owner's home")

    # --- Ben has the document open, and his home page in a second tab
    await ben.open_document(document_id)
    await _live(ben)
    home = await ben.context.new_page()
    await home.goto(f"{ben.base_url}/#/")
    await expect(home.locator(f'li.doc-card[data-document-id="{document_id}"]')).to_be_visible(
        timeout=TIMEOUT_MS)
    await expect(home.locator("html")).to_have_attribute("data-live", "ready", timeout=TIMEOUT_MS)

    async def rename() -> None:
        await ada.api("PATCH", f"/api/documents/{document_id}", {"title": "Field notes, final"})

    async def renamed() -> None:
        await expect(ben.page.locator("#doc-title")).to_have_text("Field notes, final",
                                                                  timeout=2000)

    await _shows_within(rename, renamed, "a rename")

    async def add_section() -> None:
        await ada.api("POST", f"/api/documents/{document_id}/sections", {"title": "Risks"})

    async def section_shown() -> None:
        await expect(ben.section("Risks")).to_be_visible(timeout=2000)

    await _shows_within(add_section, section_shown, "a new section")

    # --- a section deleted while Ben is in it tells him who deleted it
    await ben.editor("Summary").click()

    async def delete_section() -> None:
        await ada.api("DELETE", f"/api/documents/{document_id}/sections/{summary_id}",
                      expect_status=204)

    async def told_who() -> None:
        await expect(ben.page.locator("#doc-notice")).to_contain_text(
            "Ada Lovelace deleted the section “Summary” you were in.", timeout=2000)
        await expect(ben.section("Summary")).to_have_count(0)

    await _shows_within(delete_section, told_who, "a section deleted under someone")

    # --- the revocation: the open document stops, and the document leaves his home page
    async def revoke() -> None:
        await ada.api("DELETE", f"/api/documents/{document_id}/members/{ben.user['id']}",
                      expect_status=204)

    async def revoked() -> None:
        await expect(ben.page.locator("#doc-alert")).to_contain_text(
            "access to this document was revoked", timeout=2000)
        await expect(home.locator(f'li.doc-card[data-document-id="{document_id}"]')
                     ).to_have_count(0, timeout=2000)

    await _shows_within(revoke, revoked, "a revocation")
    await widen.screenshot(ben, "live-revoked.png")
