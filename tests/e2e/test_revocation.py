"""Acceptance 4: access changes reach an open page. A scope change (4409) re-reads access and
re-renders what the member may do; a revocation (4403) tells them within 2 s, stops editing, and
their late keystrokes reach no one."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_scope_change_then_revocation_on_an_open_page(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    sam = await widen.person("Sam Specialist")
    document_id, (summary_id, methods_id) = await ada.create_document(
        "Field report", ["Summary", "Methods"]
    )
    await ada.add_member(document_id, sam, "editor", "expertise", sections=[methods_id])

    await ada.open_document(document_id)
    await ada.type_in("Summary", "Three days of tests.")
    await sam.open_document(document_id)
    await sam.type_in("Methods", "The method by Sam.")
    await expect(ada.editor("Methods")).to_have_text("The method by Sam.")
    await expect(sam.editor("Summary")).to_have_attribute("contenteditable", "false")

    # --- the owner moves Sam to "Summary": Sam's page re-reads its access (4409)
    ada.page.on("dialog", lambda dialog: dialog.accept())
    await ada.page.get_by_role("button", name="Share").click()
    dialog = ada.page.get_by_role("dialog", name="Share “Field report”")
    row = dialog.locator(f'#members-list li[data-user-id="{sam.user["id"]}"]')
    await row.get_by_role("button", name="Sections…").click()
    await row.get_by_role("checkbox", name="Summary").check()
    await row.get_by_role("checkbox", name="Methods").uncheck()
    await row.get_by_role("button", name="Save sections").click()
    await expect(
        dialog.locator(f'#members-list li[data-user-id="{sam.user["id"]}"]')
    ).to_contain_text("“Summary”")

    await expect(sam.page.locator("#doc-notice")).to_contain_text("Your access changed")
    await expect(sam.editor("Methods")).to_have_attribute("contenteditable", "false")
    await expect(sam.editor("Summary")).to_have_attribute("contenteditable", "true")
    await sam.wait_connected()
    await sam.type_in("Summary", " Checked by Sam.")
    await expect(ada.editor("Summary")).to_have_text("Three days of tests. Checked by Sam.")

    # --- the owner revokes Sam while his page is open
    sam_row = dialog.locator(f'#members-list li[data-user-id="{sam.user["id"]}"]')
    await sam.editor("Summary").click()
    started = time.monotonic()
    await sam_row.get_by_role("button", name="Remove Sam Specialist").click()
    await expect(sam.page.locator("#doc-alert")).to_contain_text(
        "access to this document was revoked", timeout=2000
    )
    told_after = time.monotonic() - started
    assert told_after < 2.0, told_after
    await expect(
        dialog.locator(f'#members-list li[data-user-id="{sam.user["id"]}"]')
    ).to_have_count(0)
    await dialog.get_by_role("button", name="Close").click()

    # He can no longer edit, comment, or reconnect.
    await expect(sam.page.locator("#connection-status")).to_have_attribute("data-status", "stopped")
    for title in ("Summary", "Methods"):
        await expect(sam.editor(title)).to_have_attribute("contenteditable", "false")
    await expect(sam.page.locator(".toolbar")).to_be_hidden()
    await widen.screenshot(sam, "06-revoked.png")

    # Late keystrokes change nothing, locally or for anyone else.
    await sam.editor("Summary").click()
    await sam.page.keyboard.type("late keys")
    await expect(sam.editor("Summary")).to_have_text("Three days of tests. Checked by Sam.")
    await ada.type_in("Summary", " Owner still writing.")
    await ada.page.reload()
    await ada.wait_connected()
    await expect(ada.editor("Summary")).to_have_text(
        "Three days of tests. Checked by Sam. Owner still writing."
    )
    await expect(ada.editor("Methods")).to_have_text("The method by Sam.")

    # And the document is gone for him.
    await sam.page.reload()
    await expect(sam.page.get_by_role("alert")).to_contain_text(
        "does not exist or you have no access"
    )
