"""Version history from the document page: the owner names a version, edits, compares the
version with the current text, and restores it; the text comes back live, for another editor
on the page too, and history lists the restore."""

from __future__ import annotations

import pytest
from playwright.async_api import Dialog, expect

from tests.e2e.conftest import Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _accept(dialog: Dialog) -> None:
    """window.confirm: the person says yes."""
    await dialog.accept()


async def test_name_a_version_edit_compare_and_restore_it_live(widen: Widen) -> None:
    ada = await widen.person("Ada Owner")
    sam = await widen.person("Sam Editor")
    document_id, _ = await ada.create_document("Proposal", ["Summary"])
    await ada.add_member(document_id, sam, "editor", "help")
    await ada.open_document(document_id)
    await sam.open_document(document_id)
    await ada.type_in("Summary", "First draft")
    await expect(sam.editor("Summary")).to_have_text("First draft")

    # Name the current version from the History panel.
    await ada.page.locator("#history-button").click()
    panel = ada.page.get_by_role("dialog", name="History")
    await panel.locator("#version-name").fill("Sent to client")
    await panel.locator("#name-version").click()
    named = panel.locator(".version-item", has_text="Sent to client")
    await expect(named).to_be_visible()
    await panel.locator("#close-history").click()

    await ada.type_in("Summary", " changed after")
    await expect(sam.editor("Summary")).to_have_text("First draft changed after")

    # Open it read-only, compare it with now: the added words are highlighted.
    await ada.page.locator("#history-button").click()
    await panel.locator(".version-item", has_text="Sent to client").get_by_role(
        "button", name="Open").click()
    await expect(panel.locator(".version-text")).to_have_text("First draft")
    await panel.locator("#compare-version").click()
    await expect(panel.locator(".version-diff ins")).to_have_text(" changed after")
    assert await widen.accessibility_problems(ada) == []
    await widen.screenshot(ada, "history-01-compare.png")
    await panel.get_by_role("button", name="Back to the version").click()

    # Restore the section, after saying yes: both pages show the text again, live.
    ada.page.on("dialog", _accept)
    await panel.get_by_role("button", name="Restore this section").click()
    await expect(panel.locator(".version-item").first).to_contain_text(
        "Restored from “Sent to client”")
    await expect(ada.editor("Summary")).to_have_text("First draft")
    await expect(sam.editor("Summary")).to_have_text("First draft")
    await widen.screenshot(ada, "history-02-restored.png")

    # A viewer is not offered history.
    vic = await widen.person("Vic Viewer")
    await ada.add_member(document_id, vic, "viewer", "review")
    await vic.open_document(document_id)
    await expect(vic.editor("Summary")).to_have_text("First draft")
    await expect(vic.page.locator("#history-button")).to_have_count(0)
