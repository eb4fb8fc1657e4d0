"""Acceptance 5: "How this became social" — the private period first, then each invitation with
who, why (in words), when, and what happened to it. Also the home page with its lists:
private drafts, shared, the invitations inbox and followed progress (screenshots)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Widen
from tests.support.api import by_link
from tests.support.mailbox import Mailbox, link_in, token_of
from tests.support.server import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def live_server(mailing_server: ServerProcess) -> ServerProcess:
    """A server that mails, so that Ada can prove her address: invitations to it then wait
    in her inbox (an unproven address gets them only by their links)."""
    return mailing_server


async def test_timeline_and_home(widen: Widen, mailbox: Mailbox) -> None:
    ada = await widen.person("Ada Lovelace")
    await ada.api("POST", "/api/auth/verification")
    verification = link_in(await mailbox.wait_for(ada.email))
    await ada.api("POST", "/api/auth/verify", {"token": token_of(verification)})
    sam = await widen.person("Sam Specialist")
    rex = await widen.person("Rex Reviewer")
    bea = await widen.person("Bea Manager")

    document_id, (summary_id, methods_id) = await ada.create_document(
        "Field report", ["Summary", "Methods"]
    )
    await ada.create_document("Holiday plan", ["Days"])
    to_sam = await ada.invite(
        document_id,
        sam,
        "editor",
        "expertise",
        sections=[methods_id],
        message="You know the protocol best.",
    )
    to_rex = await ada.invite(
        document_id, rex, "reviewer", "review", message="A last read, please."
    )
    await ada.invite(document_id, bea, "progress", "progress")
    await sam.accept(to_sam)
    await rex.api("POST", f"/api/invitations/{to_rex['id']}/decline", by_link(to_rex))
    await ada.api(
        "PATCH",
        f"/api/documents/{document_id}/members/{sam.user['id']}",
        {"sections": [summary_id, methods_id]},
    )

    # Documents shared with Ada by others: one to review (pending), one whose progress she follows.
    budget_id, _ = await bea.create_document("Budget 2025", ["Costs"])
    await bea.invite(budget_id, ada, "reviewer", "review", message="Could you check the numbers?")
    plan_id, (goals_id, _) = await bea.create_document("Quarterly plan", ["Goals", "Risks"])
    follow = await bea.invite(plan_id, ada, "progress", "progress")
    await ada.accept(follow)
    await bea.api(
        "PATCH",
        f"/api/documents/{plan_id}/sections/{goals_id}",
        {"status": "done", "due_date": "2030-01-31"},
    )

    # --- the timeline
    await ada.goto(f"/d/{document_id}/timeline")
    await expect(ada.page.get_by_role("heading", name="How this became social")).to_be_visible()
    timeline = ada.page.locator("#timeline")
    items = timeline.locator("> li")
    await expect(items).to_have_count(4)
    first = items.nth(0)
    await expect(first).to_have_attribute("data-kind", "private")
    await expect(first).to_contain_text("Ada Lovelace created the document")
    await expect(first).to_contain_text("Private for")

    # The invitation names the address (registering it proved nothing); the answer, Sam.
    await expect(items.nth(1)).to_contain_text(
        f"Ada Lovelace invited {sam.email} as editor of “Methods”"
    )
    await expect(items.nth(1)).to_contain_text("Needs a specialist")
    await expect(items.nth(1)).to_contain_text("You know the protocol best.")
    await expect(items.nth(1)).to_contain_text("Accepted by Sam Specialist")
    await expect(items.nth(1)).to_contain_text(
        "changed Sam Specialist's access to editor of “Summary”, “Methods”"
    )
    await expect(items.nth(2)).to_contain_text("Proof-reading")
    await expect(items.nth(2)).to_contain_text("Declined by Rex Reviewer")
    await expect(items.nth(3)).to_contain_text("Following progress")
    await expect(items.nth(3)).to_contain_text("Waiting for an answer")
    stats = ada.page.locator(".stats")
    await expect(stats).to_contain_text("Needs a specialist")
    await widen.screenshot(ada, "07-timeline.png", full_page=True)
    assert await widen.accessibility_problems(ada) == []

    # --- the home page
    await ada.goto("/")
    drafts = ada.page.locator("section", has=ada.page.get_by_role("heading", name="My drafts"))
    await expect(drafts.get_by_role("link", name="Holiday plan", exact=True)).to_be_visible()
    shared_by_me = ada.page.locator(
        "section", has=ada.page.get_by_role("heading", name="Shared by me")
    )
    await expect(shared_by_me.get_by_role("link", name="Field report", exact=True)).to_be_visible()
    await expect(shared_by_me).to_contain_text("Shared with 1")
    inbox = ada.page.locator("section", has=ada.page.get_by_role("heading", name="Invitations"))
    await expect(inbox).to_contain_text("Bea Manager invites you to “Budget 2025”")
    await expect(inbox).to_contain_text("Proof-reading")
    await expect(inbox).to_contain_text("Could you check the numbers?")
    following = ada.page.locator(
        "section", has=ada.page.get_by_role("heading", name="Following progress")
    )
    await expect(following).to_contain_text("Quarterly plan")
    await expect(following).to_contain_text("1 of 2 sections done")
    await widen.screenshot(ada, "01-home.png", full_page=True)
    assert await widen.accessibility_problems(ada) == []

    # A progress member opening the document sees its progress, never its text.
    await following.get_by_role("link", name="Quarterly plan").click()
    await expect(
        ada.page.get_by_role("heading", name="Progress of “Quarterly plan”")
    ).to_be_visible()
    await ada.goto(f"/d/{plan_id}")
    await expect(ada.page.locator("#access-line")).to_contain_text(
        "its text is not shared with you"
    )
    await expect(ada.page.locator("#progress-sections")).to_contain_text("Goals")
    await expect(ada.page.locator(".ProseMirror")).to_have_count(0)
    await widen.screenshot(ada, "08-progress-only.png")

    # A tablet-width home page stays usable.
    await ada.page.set_viewport_size({"width": 820, "height": 1100})
    await ada.goto("/")
    await expect(inbox).to_be_visible()
    await widen.screenshot(ada, "01-home-tablet.png")
