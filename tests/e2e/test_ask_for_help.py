"""A section at risk of missing its date, in Chromium: its owner sees the flag with its
one-line explanation, sets the target in the sections table, and "Ask for help" opens the
share dialog with reason `help` and that section chosen, whose invitation says so; a manager
following progress sees no flag. Screenshot: tests/e2e/screenshots/ask-for-help.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import TIMEOUT_MS, Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_owner_asks_for_help_with_a_section_at_risk(widen: Widen) -> None:
    ada = await widen.person("Ada Owner")
    pat = await widen.person("Pat Manager")
    document_id, (methods, results) = await ada.create_document("Field study",
                                                                 ["Methods", "Results"])
    due = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    await ada.api("PATCH", f"/api/documents/{document_id}/sections/{methods}",
                  {"due_date": due, "target_words": 1500})
    await ada.add_member(document_id, pat, "progress", "progress")

    await ada.goto(f"/d/{document_id}/progress")
    row = ada.page.locator(f'#progress-sections tr[data-section-id="{methods}"]')
    flag = row.locator(".at-risk")
    await expect(flag).to_be_visible(timeout=TIMEOUT_MS)
    await expect(flag.locator(".at-risk-why")).to_have_text(
        "needs 1,500 more words in 4 days; the last 7 days averaged 0 a day")
    await expect(ada.page.locator(f'tr[data-section-id="{results}"] .at-risk')).to_have_count(0)

    # The owner changes the target in the table; the flag's line follows from the server.
    target = row.locator(".target-input")
    await expect(target).to_have_value("1500")
    await target.fill("2,000")
    await target.press("Enter")
    await expect(flag.locator(".at-risk-why")).to_have_text(
        "needs 2,000 more words in 4 days; the last 7 days averaged 0 a day",
        timeout=TIMEOUT_MS)
    await widen.screenshot(ada, "ask-for-help.png", full_page=True)

    await row.get_by_role("button", name="Ask for help with “Methods”").click()
    dialog = ada.page.locator("#share-dialog")
    await expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
    await expect(dialog.locator("#invite-reason-help")).to_be_checked()
    await expect(dialog.locator("#invite-role")).to_have_value("editor")
    await expect(dialog.locator("#invite-scope-some")).to_be_checked()
    await expect(dialog.locator(f'input[name="invite-section"][value="{methods}"]')
                 ).to_be_checked()
    await expect(dialog.locator(f'input[name="invite-section"][value="{results}"]')
                 ).not_to_be_checked()
    assert await widen.accessibility_problems(ada) == []

    # Sent as prefilled: an invitation to help with Methods only.
    await dialog.locator("#invite-email").fill("helper@example.org")
    await dialog.locator("#invite-submit").click()
    await expect(dialog.locator("#invitations-list li[data-invitation-id]")).to_have_count(
        1, timeout=TIMEOUT_MS)
    invitations = await ada.api("GET", f"/api/documents/{document_id}/invitations")
    assert [(i["role"], i["reason"], i["sections"]) for i in invitations
            if i["email"] == "helper@example.org"] == [("editor", "help", [methods])]

    # A manager following progress sees the section and its target, not the flag.
    await pat.goto(f"/d/{document_id}/progress")
    pat_row = pat.page.locator(f'#progress-sections tr[data-section-id="{methods}"]')
    await expect(pat_row).to_be_visible(timeout=TIMEOUT_MS)
    await expect(pat_row.locator("td.num").first).to_have_text("2000")
    await expect(pat_row.locator(".at-risk")).to_have_count(0)
    await expect(pat_row.locator(".target-input")).to_have_count(0)
