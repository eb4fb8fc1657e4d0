"""The edges of sharing a newcomer reaches from the pages (issue 8, item 6): deleting a
document into the trash and restoring it, leaving, answering an editor's invite request,
handing ownership over, and a sign-in page that says when to retry after too many failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Dialog, expect

from app.timeutil import utcnow
from tests.e2e.conftest import PASSWORD, Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _accept(dialog: Dialog) -> None:
    """window.confirm: the person says yes."""
    await dialog.accept()


async def test_delete_into_the_trash_restore_and_leave(widen: Widen) -> None:
    ada = await widen.person("Ada Owner")
    sam = await widen.person("Sam Member")
    rex = await widen.person("Rex Follower")
    document_id, _ = await ada.create_document("Budget 2026", ["Costs"])
    for person, role, reason in ((sam, "editor", "help"), (rex, "progress", "progress")):
        await ada.add_member(document_id, person, role, reason)
    await sam.open_document(document_id)

    # --- the owner deletes it from the home page, after saying yes
    ada.page.on("dialog", _accept)
    await ada.goto("/")
    card = ada.page.locator(f'.home-main li[data-document-id="{document_id}"]')
    await card.get_by_role("button", name="Delete “Budget 2026”").click()
    await expect(card).to_have_count(0)
    trash = ada.page.locator("#trash")
    trashed = trash.locator(f'li[data-document-id="{document_id}"]')
    await expect(trashed).to_contain_text("Budget 2026")
    purge_day = utcnow() + timedelta(days=30)
    await expect(trashed.locator(".purge-date")).to_contain_text(str(purge_day.year))
    await expect(trashed.locator(".purge-date")).to_contain_text(str(purge_day.day))
    await widen.screenshot(ada, "trash-01-deleted.png")
    assert await widen.accessibility_problems(ada) == []

    # The member's open page stops at once, says why, and the document is gone from their home.
    await expect(sam.page.get_by_role("heading", name="Document unavailable")).to_be_visible()
    await expect(sam.page.get_by_role("alert")).to_contain_text("deleted by its owner")
    await sam.goto("/")
    await expect(sam.page.get_by_role("heading", name="Your documents")).to_be_visible()
    await expect(sam.page.locator(f'li[data-document-id="{document_id}"]')).to_have_count(0)
    await expect(sam.page.locator("#trash")).to_contain_text("The trash is empty.")

    # --- restored, with its members
    await trashed.get_by_role("button", name="Restore “Budget 2026”").click()
    await expect(trash).to_contain_text("The trash is empty.")
    await expect(ada.page.locator(f'.home-main li[data-document-id="{document_id}"]')
                 ).to_contain_text("Shared with 2")
    await sam.open_document(document_id)
    await sam.type_in("Costs", "Back in business.")
    await ada.open_document(document_id)
    await expect(ada.editor("Costs")).to_have_text("Back in business.")

    # --- members leave from their home page: one following progress, one editing
    for person in (rex, sam):
        person.page.on("dialog", _accept)
        await person.goto("/")
        card = person.page.locator(f'li[data-document-id="{document_id}"]')
        await card.get_by_role("button", name="Leave “Budget 2026”").click()
        await expect(card).to_have_count(0)
        await person.api("GET", f"/api/documents/{document_id}", expect_status=404)
    log = await ada.api("GET", f"/api/documents/{document_id}/log")
    assert [(e["kind"], e["subject"] and e["subject"]["id"]) for e in log["events"]][-4:] == [
        ("deleted", None), ("restored", None), ("left", rex.user["id"]),
        ("left", sam.user["id"])]


async def test_the_owner_answers_invite_requests_and_hands_ownership_over(
    widen: Widen,
) -> None:
    ada = await widen.person("Ada Owner")
    sam = await widen.person("Sam Editor")
    document_id, _ = await ada.create_document("Field guide", ["Birds"])
    await ada.add_member(document_id, sam, "editor", "help")
    requests = f"/api/documents/{document_id}/invite-requests"
    await sam.api("POST", requests, {"email": "ornithologist@example.org", "role": "reviewer",
                                     "reason": "expertise", "message": "Knows every warbler."})
    await sam.api("POST", requests, {"email": "cousin@example.org", "role": "editor",
                                     "reason": "other"})

    ada.page.on("dialog", _accept)
    await ada.open_document(document_id)
    await ada.page.get_by_role("button", name="Share").click()
    dialog = ada.page.get_by_role("dialog", name="Share “Field guide”")
    asked = dialog.locator("#requests-list")
    await expect(asked.locator("li.request-row")).to_have_count(2)
    await expect(asked).to_contain_text("Knows every warbler.")
    await widen.screenshot(ada, "trash-02-invite-requests.png")
    assert await widen.accessibility_problems(ada) == []

    await asked.get_by_role(
        "button", name="Approve Sam Editor's request to invite ornithologist@example.org"
    ).click()
    await expect(dialog.locator("#invitations-list")).to_contain_text(
        "ornithologist@example.org")
    await asked.get_by_role(
        "button", name="Refuse Sam Editor's request to invite cousin@example.org").click()
    await expect(asked).to_contain_text("No requests waiting.")
    answered = {r["email"]: r["status"] for r in await sam.api("GET", requests)}
    assert answered == {"ornithologist@example.org": "approved",
                        "cousin@example.org": "refused"}
    invitations = await ada.api("GET", f"/api/documents/{document_id}/invitations")
    assert [(i["email"], i["role"]) for i in invitations if i["status"] == "pending"] == [
        ("ornithologist@example.org", "reviewer")]

    # --- ownership goes to Sam; Ada stays as an editor and no longer shares
    row = dialog.locator(f'#members-list li[data-user-id="{sam.user["id"]}"]')
    await row.get_by_role("button", name="Make owner: Sam Editor").click()
    await expect(dialog).to_have_count(0)
    await expect(ada.page.get_by_role("button", name="Share")).to_have_count(0)
    document = await sam.api("GET", f"/api/documents/{document_id}")
    assert (document["role"], document["owner_id"]) == ("owner", sam.user["id"])
    assert (await ada.api("GET", f"/api/documents/{document_id}"))["role"] == "editor"


async def test_the_sign_in_page_says_when_to_try_again(widen: Widen) -> None:
    ada = await widen.person("Ada Forgetful")
    context = await widen.browser.new_context()  # another device, with no session
    visitor = await context.new_page()
    try:
        await visitor.goto(f"{widen.base_url}/")
        await visitor.locator("#signin-email").fill(ada.email)
        error = visitor.locator("#signin-error")
        for attempt in range(5):
            await visitor.locator("#signin-password").fill(f"wrong guess {attempt}")
            await visitor.get_by_role("button", name="Sign in").click()
            await expect(error).to_contain_text("Wrong email or password")
        await visitor.locator("#signin-password").fill(PASSWORD)
        await visitor.get_by_role("button", name="Sign in").click()
        # The default window is five minutes: the wait reads in minutes, and the button waits.
        await expect(error).to_have_text(
            "Too many failed sign-in attempts. Try again in 5 min.")
        button = visitor.locator("#signin-form button[type=submit]")
        await expect(button).to_be_disabled()
        await expect(button).to_contain_text("Try again in")
    finally:
        await context.close()
