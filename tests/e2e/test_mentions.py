"""@mentions in a comment (issue 8): typing `@` offers the members who read the text, by
keyboard or mouse; whoever is still named when the comment is sent is notified, and their open
home page shows it at once, without a reload. A reply mentions the same way."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import TIMEOUT_MS, Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_owner_mentions_a_reviewer_whose_open_inbox_shows_it(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    rae = await widen.person("Rae Reviewer")
    rob = await widen.person("Rob Viewer")
    fay = await widen.person("Fay Follower")
    document_id, _ = await ada.create_document("Field notes", ["Summary"])
    await ada.add_member(document_id, rae, "reviewer", "review")
    await ada.add_member(document_id, rob, "viewer", "review")
    await ada.add_member(document_id, fay, "progress", "review")

    # Rae's home page is open: her inbox follows the live channel.
    await rae.goto("/")
    inbox = rae.page.locator("#notifications")
    await expect(inbox).to_contain_text("Nothing new.")
    await expect(rae.page.locator("html")).to_have_attribute("data-live", "ready",
                                                            timeout=TIMEOUT_MS)

    await ada.open_document(document_id)
    await ada.type_in("Summary", "The engine computes tables.")
    await ada.select_text("Summary", "tables")
    await ada.page.get_by_role("button", name="Comment on the selected text").click()
    composer = ada.page.get_by_role("form", name="New comment")
    body = composer.get_by_label("Comment")
    listbox = composer.get_by_role("listbox", name="People to mention")

    # --- the keyboard: "@r" offers Rae and Rob (not Fay, who follows progress only, nor me)
    await body.press_sequentially("Could you check these, @r")
    await expect(listbox.get_by_role("option")).to_contain_text(["Rae Reviewer", "Rob Viewer"])
    await expect(listbox.get_by_role("option", selected=True)).to_contain_text("Rae Reviewer")
    await body.press("ArrowDown")
    active = listbox.get_by_role("option", selected=True)
    await expect(active).to_contain_text("Rob Viewer")
    await expect(body).to_have_attribute("aria-activedescendant",
                                         await active.get_attribute("id") or "")
    await body.press("ArrowUp")
    await expect(listbox.get_by_role("option", selected=True)).to_contain_text("Rae Reviewer")
    await body.press("Enter")
    await expect(listbox).to_be_hidden()
    await expect(body).to_have_value("Could you check these, @Rae Reviewer ")
    assert await body.get_attribute("aria-activedescendant") is None

    # Escape closes the list and keeps the composer.
    await body.press_sequentially("and @")
    await expect(listbox.get_by_role("option")).to_have_count(2)
    await body.press("Escape")
    await expect(listbox).to_be_hidden()
    await expect(composer).to_be_visible()

    # --- the mouse: filtered by what was typed, chosen by a click; then edited away
    await body.press_sequentially("ro")
    await expect(listbox.get_by_role("option")).to_have_count(1)
    await widen.screenshot(ada, "mention-list.png")
    assert await widen.accessibility_problems(ada) == []
    await listbox.get_by_role("option", name="Rob Viewer").click()
    await expect(body).to_have_value("Could you check these, @Rae Reviewer and @Rob Viewer ")
    await expect(body).to_be_focused()
    for _ in range(5):
        await body.press("Backspace")
    await body.press_sequentially("ctor?")
    await expect(body).to_have_value("Could you check these, @Rae Reviewer and @Rob Victor?")
    await composer.get_by_role("button", name="Comment").click()
    await expect(ada.page.locator("#comments-panel li.thread")).to_contain_text("@Rae Reviewer")

    # --- Rae's open inbox shows the mention, with no reload; Rob, no longer named, has none
    mention = inbox.locator('li[data-kind="mention"]')
    await expect(mention).to_contain_text("Ada Lovelace mentioned you in “Field notes”",
                                          timeout=2000)
    await expect(mention).to_contain_text("Could you check these, @Rae Reviewer")
    assert await rob.api("GET", "/api/notifications") == []
    await widen.screenshot(rae, "mention-inbox.png")

    # --- a reply mentions too: Enter chooses from the list, the next Enter sends
    await rae.open_document(document_id)
    reply = rae.page.locator("#comments-panel li.thread").get_by_label("Reply")
    await reply.press_sequentially("Done. @rob")
    await expect(rae.page.get_by_role("option", name="Rob Viewer")).to_be_visible()
    await reply.press("Enter")
    await expect(reply).to_have_value("Done. @Rob Viewer ")
    await reply.press_sequentially("can confirm.")
    await reply.press("Enter")
    await expect(rae.page.locator("#comments-panel .replies")).to_contain_text(
        "Done. @Rob Viewer can confirm.")
    told = await rob.api("GET", "/api/notifications")
    assert [(n["kind"], n["text"]) for n in told] == [
        ("mention", "Rae Reviewer mentioned you in “Field notes”: Done. @Rob Viewer can confirm.")]
