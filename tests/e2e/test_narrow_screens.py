"""A phone at 390 px (issue 8, item 7): no page scrolls sideways — sign-in, home with an
invitation in the inbox, a document as its owner, as a section-scoped editor and as a reviewer,
the share dialog, the timeline, the progress page and the dashboard. The toolbar wraps or
scrolls on its own, and the share dialog fits. Screenshots: tests/e2e/screenshots/narrow-*.png."""

from __future__ import annotations

import pytest
from playwright.async_api import ViewportSize, expect

from tests.e2e.conftest import TIMEOUT_MS, Person, Widen
from tests.support.mailbox import Mailbox, link_in, token_of
from tests.support.server import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

PHONE: ViewportSize = {"width": 390, "height": 844}
# Long words do not fit a phone's width on their own: titles and text must wrap them.
LONG_TITLE = "Interdisciplinary-collaboration-requirements-specification quarterly report"


async def measure(widen: Widen, person: Person, name: str, widths: dict[str, int]) -> None:
    """How wide the page is (its scrollWidth), with a screenshot to show it."""
    await person.page.wait_for_timeout(200)  # let fonts and late layout settle
    widths[name] = await person.page.evaluate("() => document.documentElement.scrollWidth")
    await widen.screenshot(person, f"narrow-{name}.png", full_page=True)


@pytest.fixture
def live_server(mailing_server: ServerProcess) -> ServerProcess:
    """A server that mails, so that the newcomer can prove her address: the invitation to it
    then waits in her inbox on the home page."""
    return mailing_server


async def test_no_page_scrolls_sideways_on_a_phone(widen: Widen, mailbox: Mailbox) -> None:
    widths: dict[str, int] = {}
    owner = await widen.person("Olivia Owner-with-a-rather-long-name", viewport=PHONE)
    editor = await widen.person("Edgar Editor", viewport=PHONE)
    reviewer = await widen.person("Rita Reviewer", viewport=PHONE)
    newcomer = await widen.person("Nina Newcomer", viewport=PHONE)
    await newcomer.api("POST", "/api/auth/verification")
    verification = link_in(await mailbox.wait_for(newcomer.email))
    await newcomer.api("POST", "/api/auth/verify", {"token": token_of(verification)})
    document_id, (summary, methods) = await owner.create_document(
        LONG_TITLE, ["Summary of the interdisciplinary findings", "Methods"])
    await owner.add_member(document_id, editor, "editor", "expertise", sections=[methods])
    await owner.add_member(document_id, reviewer, "reviewer", "review",
                           message="Could you review the methods before Friday?")
    await owner.api("PATCH", f"/api/documents/{document_id}/sections/{summary}",
                    {"status": "in_review", "due_date": "2031-01-31",
                     "assignee_id": owner.user["id"]})
    await owner.invite(document_id, newcomer, "viewer", "other",
                       message="An invitation with a long message " * 4)

    # --- signed out: the sign-in page
    await newcomer.context.clear_cookies()
    await newcomer.goto("/")
    await expect(newcomer.page.get_by_role("heading", name="Create an account")).to_be_visible(
        timeout=TIMEOUT_MS)
    await measure(widen, newcomer, "01-sign-in", widths)

    # --- home, with an invitation waiting in the inbox
    await newcomer.page.locator("#signin-email").fill(newcomer.email)
    await newcomer.page.locator("#signin-password").fill("correct horse battery staple")
    await newcomer.page.locator("#signin-password").press("Enter")
    await expect(newcomer.page.locator(".invite-card")).to_be_visible(timeout=TIMEOUT_MS)
    await measure(widen, newcomer, "02-home-inbox", widths)
    await owner.goto("/")
    await expect(owner.page.get_by_role("link", name=LONG_TITLE, exact=True)).to_be_visible(
        timeout=TIMEOUT_MS)
    await measure(widen, owner, "03-home-owner", widths)

    # --- the document as its owner; the toolbar stays within the page
    await owner.open_document(document_id)
    await owner.type_in("Summary of the interdisciplinary findings",
                        "Supercalifragilisticexpialidocious-and-antidisestablishmentarianism "
                        "findings written on a phone.")
    await measure(widen, owner, "04-document-owner", widths)
    toolbar = await owner.page.locator(".toolbar").bounding_box()

    # --- the share dialog fits
    await owner.page.get_by_role("button", name="Share").click()
    dialog = owner.page.get_by_role("dialog", name=f"Share “{LONG_TITLE}”")
    await expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
    await expect(dialog.locator("#invitations-list")).to_contain_text(newcomer.email,
                                                                       timeout=TIMEOUT_MS)
    await measure(widen, owner, "05-share-dialog", widths)
    box = await dialog.bounding_box()
    await dialog.get_by_role("button", name="Close").click()

    # --- a section-scoped editor and a reviewer
    await editor.open_document(document_id)
    await expect(editor.section("Methods")).to_have_attribute("data-editable", "true",
                                                              timeout=TIMEOUT_MS)
    await measure(widen, editor, "06-document-scoped-editor", widths)
    await reviewer.open_document(document_id)
    await expect(reviewer.section("Methods")).to_have_attribute("data-editable", "false",
                                                                timeout=TIMEOUT_MS)
    await measure(widen, reviewer, "07-document-reviewer", widths)

    # --- the timeline and the progress page
    await owner.goto(f"/d/{document_id}/timeline")
    await expect(owner.page.locator("#timeline")).to_be_visible(timeout=TIMEOUT_MS)
    await measure(widen, owner, "08-timeline", widths)
    await owner.goto(f"/d/{document_id}/progress")
    await expect(owner.page.locator("#progress-sections")).to_be_visible(timeout=TIMEOUT_MS)
    await measure(widen, owner, "09-progress", widths)
    await owner.goto("/progress")
    await expect(owner.page.locator("#dashboard")).to_be_visible(timeout=TIMEOUT_MS)
    await measure(widen, owner, "10-dashboard", widths)

    assert len(widths) == 10
    assert toolbar is not None and box is not None
    within = {name: (b["x"], b["x"] + b["width"]) for name, b in
              (("toolbar", toolbar), ("share dialog", box))}
    assert all(left >= 0 and right <= PHONE["width"] for left, right in within.values()), (
        within, widths)
    too_wide = {name: width for name, width in widths.items() if width > PHONE["width"]}
    assert too_wide == {}, f"pages wider than a 390 px phone: {too_wide}"
