"""Acceptance 2: the author invites a specialist to one section, for their expertise; the
specialist accepts from the inbox, writes in that section, sees the others read-only, and
both browsers converge. Screenshots: the share dialog and the editor with two cursors."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_specialist_writes_their_section_only(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    sam = await widen.person("Sam Specialist")
    document_id, _ = await ada.create_document("Field report", ["Summary", "Methods"])

    await ada.open_document(document_id)
    await ada.type_in("Summary", "The engine ran for three days.")
    await ada.type_in("Methods", "Cards were punched by hand.")

    # --- the share dialog: invite Sam to "Methods" only, because it needs a specialist
    await ada.page.get_by_role("button", name="Share").click()
    dialog = ada.page.get_by_role("dialog", name="Share “Field report”")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Email").fill(sam.email)
    await dialog.get_by_label("Needs a specialist").check()
    await expect(dialog.get_by_label("Role")).to_have_value("editor")
    await dialog.get_by_label("Only these sections:").check()
    await dialog.get_by_role("checkbox", name="Methods").check()
    await dialog.get_by_role("textbox", name="Message").fill(
        "You know the protocol best — could you write the methods?"
    )
    await widen.screenshot(ada, "03-share-dialog-filled.png")
    await dialog.get_by_role("button", name="Send invitation").click()
    pending = dialog.locator("#invitations-list")
    await expect(pending.get_by_text(sam.email)).to_be_visible()
    await expect(pending).to_contain_text("Needs a specialist")
    await expect(pending).to_contain_text("“Methods”")
    # This server sends no mail: the dialog offers the invitation's link to pass on.
    panel = dialog.locator("#invite-link-panel")
    await expect(panel).to_contain_text("This server sends no mail")
    link = await panel.get_by_label("Invitation link").input_value()
    assert link.startswith(f"{widen.base_url}/#/invite/"), link
    await widen.screenshot(ada, "03-share-dialog.png")
    assert await widen.accessibility_problems(ada) == []
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()

    # --- Sam's inbox stays empty (registering the address proves nothing); the link opens
    # the document, where Sam lands as the invited editor of "Methods"
    await sam.goto("/")
    await expect(sam.page.locator("#inbox-heading")).to_be_visible()
    await expect(sam.page.locator(".invite-card")).to_have_count(0)
    await sam.page.goto(link)
    await sam.wait_connected()
    assert sam.page.url.endswith(f"#/d/{document_id}"), sam.page.url

    # --- Sam may write "Methods" only; "Summary" is visibly read-only
    await expect(sam.editor("Summary")).to_have_text("The engine ran for three days.")
    await expect(sam.editor("Summary")).to_have_attribute("contenteditable", "false")
    await expect(sam.section("Summary").locator(".lock-badge")).to_contain_text("Read-only")
    await expect(sam.section("Methods").locator(".lock-badge")).to_be_hidden()
    await expect(sam.page.locator("#access-line")).to_contain_text("You can edit “Methods”")
    await expect(sam.page.get_by_role("button", name="Share")).to_have_count(0)
    await expect(sam.page.get_by_role("button", name="Add section")).to_have_count(0)

    await sam.type_in("Methods", " Sam checked every card.")
    expected_methods = "Cards were punched by hand. Sam checked every card."
    await expect(ada.editor("Methods")).to_have_text(expected_methods)

    # Section metadata changed by the owner shows up on Sam's open page at once.
    await ada.section("Methods").get_by_label("Status").select_option("in_review")
    await expect(sam.section("Methods").get_by_label("Status")).to_have_value("in_review")
    await expect(sam.section("Summary").get_by_label("Status")).to_be_disabled()

    # Keys in the read-only section change nothing, here or anywhere.
    await sam.editor("Summary").click()
    await sam.page.keyboard.type("XYZ")
    await expect(sam.editor("Summary")).to_have_text("The engine ran for three days.")

    # --- both write in "Methods" at once: each sees the other's cursor, both converge
    await ada.editor("Methods").click()
    await ada.page.keyboard.press("Control+Home")
    await ada.page.keyboard.type("Method: ")
    await sam.editor("Methods").click()
    await sam.page.keyboard.press("Control+End")
    await sam.page.keyboard.type(" Done.")
    final = "Method: Cards were punched by hand. Sam checked every card. Done."
    await expect(ada.editor("Methods")).to_have_text(final)
    await expect(sam.editor("Methods")).to_have_text(final)
    await expect(ada.section("Methods").locator(".remote-caret")).to_have_attribute(
        "data-name", "Sam Specialist"
    )
    await expect(sam.section("Methods").locator(".remote-caret")).to_have_attribute(
        "data-name", "Ada Lovelace"
    )
    await expect(ada.page.locator("#presence li")).to_have_count(2)
    await expect(ada.section("Methods").locator(".here")).to_contain_text("Sam Specialist is here")
    await expect(ada.editor("Summary")).to_have_text("The engine ran for three days.")
    await sam.page.keyboard.down("Shift")
    for _ in range(5):
        await sam.page.keyboard.press("ArrowLeft")
    await sam.page.keyboard.up("Shift")
    await expect(ada.section("Methods").locator(".remote-selection")).to_have_text("Done.")
    await widen.screenshot(ada, "02-editor-two-cursors.png")
    await widen.screenshot(sam, "02-editor-specialist.png")
    assert await widen.accessibility_problems(ada) == []
    assert await widen.accessibility_problems(sam) == []

    # --- undo takes back only my own edits, never someone else's
    await ada.editor("Summary").click()
    await ada.page.keyboard.press("Control+End")
    await ada.page.keyboard.type(" Oops")
    await expect(sam.editor("Summary")).to_have_text("The engine ran for three days. Oops")
    await sam.page.keyboard.press("Control+End")
    await sam.page.keyboard.type(" (Sam)")
    await expect(ada.editor("Methods")).to_have_text(final + " (Sam)")
    await ada.editor("Summary").click()
    await ada.page.keyboard.press("Control+z")
    await expect(ada.editor("Summary")).to_have_text("The engine ran for three days.")
    await expect(sam.editor("Summary")).to_have_text("The engine ran for three days.")
    await expect(ada.editor("Methods")).to_have_text(final + " (Sam)")
    await ada.page.keyboard.press("Control+Shift+z")
    await expect(sam.editor("Summary")).to_have_text("The engine ran for three days. Oops")

    # --- a tablet-width window keeps the editor usable
    await sam.page.set_viewport_size({"width": 820, "height": 1100})
    await expect(sam.editor("Methods")).to_be_visible()
    await widen.screenshot(sam, "02-editor-tablet.png")
