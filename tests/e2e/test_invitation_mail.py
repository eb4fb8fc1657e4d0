"""Issue 8, items 1 and 2, in a browser: an invitation mailed through a real SMTP server
(aiosmtpd) carries a link; the invitee follows it, registers, and lands in the document with
the invited role."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import ViewportSize, expect

from tests.e2e.conftest import PASSWORD, TIMEOUT_MS, Widen
from tests.support.mailbox import Mailbox, body_of, link_in
from tests.support.server import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def live_server(mailing_server: ServerProcess) -> ServerProcess:
    """This module's server mails to `mailbox`."""
    return mailing_server


async def test_the_invitee_follows_the_mailed_link_registers_and_lands_in_the_document(
    widen: Widen, mailbox: Mailbox
) -> None:
    ada = await widen.person("Ada Lovelace")
    document_id, _ = await ada.create_document("Press release", ["Headline", "Body"])
    await ada.open_document(document_id)
    await ada.type_in("Body", "It computes tables without mistakes.")
    address = f"rex-{uuid.uuid4().hex[:8]}@example.org"

    # --- Ada invites Rex to proof-read, through the share dialog; the mail goes out
    await ada.page.get_by_role("button", name="Share").click()
    dialog = ada.page.get_by_role("dialog", name="Share “Press release”")
    await dialog.get_by_label("Email").fill(address)
    await dialog.get_by_label("Proof-reading").check()
    await expect(dialog.get_by_label("Role")).to_have_value("reviewer")
    await dialog.get_by_role("textbox", name="Message").fill("Could you proof-read it?")
    await dialog.get_by_role("button", name="Send invitation").click()
    await expect(dialog.locator("#invite-link-panel")).to_contain_text("A mail with this link")
    row = dialog.locator("#invitations-list li", has_text=address)
    await expect(row.locator("[data-mail-status=sent]")).to_have_text("Mail delivered")

    mail = await mailbox.wait_for(address)
    assert mail["Subject"] == "Ada Lovelace invites you to “Press release” on Widen"
    body = body_of(mail)
    assert "because it needs proof-reading" in body and "> Could you proof-read it?" in body
    link = link_in(mail)
    assert link.startswith(f"{widen.base_url}/#/invite/"), link

    # --- Rex, with no account, opens the link in a fresh browser and registers
    context = await widen.browser.new_context(viewport=ViewportSize(width=1360, height=860))
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        page.on("pageerror", lambda exc: widen.errors.append(f"Rex: {exc}"))
        await page.goto(link)
        await expect(page.get_by_role("status").filter(
            has_text="You have been invited to a document")).to_be_visible()
        await page.locator("#signup-name").fill("Rex Reviewer")
        await page.locator("#signup-email").fill(address)
        await page.locator("#signup-password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()

        # --- and lands in the document, as the reviewer he was invited as
        await expect(page.locator("#connection-status")).to_have_attribute(
            "data-status", "connected")
        assert page.url.endswith(f"#/d/{document_id}"), page.url
        body_editor = page.locator('article.section-card[data-section-title="Body"] .ProseMirror')
        await expect(body_editor).to_have_text("It computes tables without mistakes.")
        await expect(body_editor).to_have_attribute("contenteditable", "false")
        await expect(page.locator('article.section-card[data-section-title="Body"] .lock-badge')
                     ).to_contain_text("you can comment")
        document = await (await context.request.get(
            f"{widen.base_url}/api/documents/{document_id}")).json()
        assert document["role"] == "reviewer"
        await page.screenshot(path=widen.screenshots / "08-invited-by-mail.png")

        # The link is used up: opening it again says so, and leads nowhere new.
        await page.goto(f"{widen.base_url}/#/")
        await page.goto(link)
        await expect(page.locator("#invite-error")).to_contain_text("used up")
    finally:
        await context.close()

    # Ada's dialog, reopened, lists Rex as a reviewer and no pending invitation.
    await dialog.get_by_role("button", name="Close").click()
    await ada.page.get_by_role("button", name="Share").click()
    await expect(dialog.locator("#members-list")).to_contain_text("Rex Reviewer")
    await expect(dialog.locator("#invitations-list")).to_contain_text("No pending invitations.")
