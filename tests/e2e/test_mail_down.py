"""Issue 8, item 1: with the mail server down, an invitation is never lost — it waits, its
link still works, and the share dialog shows that its mail failed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Widen
from tests.support.mailbox import Mailbox
from tests.support.server import ServerProcess, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def live_server(start_server: Callable[..., ServerProcess], mailbox: Mailbox) -> ServerProcess:
    """SMTP points at a port where nothing listens; a retry would come only after a minute."""
    return start_server(**{**mailbox.settings(), "smtp_port": str(free_port()),
                           "mail_retry_seconds": "60"})


async def test_the_share_dialog_shows_the_failed_mail_and_the_invitation_waits(
    widen: Widen,
) -> None:
    ada = await widen.person("Ada Lovelace")
    sam = await widen.person("Sam Specialist")
    document_id, _ = await ada.create_document("Field report", ["Methods"])
    await ada.open_document(document_id)

    await ada.page.get_by_role("button", name="Share").click()
    dialog = ada.page.get_by_role("dialog", name="Share “Field report”")
    await dialog.get_by_label("Email").fill(sam.email)
    await dialog.get_by_label("Needs a specialist").check()
    await dialog.get_by_role("button", name="Send invitation").click()
    row = dialog.locator("#invitations-list li", has_text=sam.email)
    failure = row.locator("[data-mail-status=retrying]")
    await expect(failure).to_contain_text("Mail not delivered yet")
    await expect(failure).to_have_attribute("role", "alert")
    await widen.screenshot(ada, "08-mail-failed.png")

    # After a reload the invitation is still there, still pending, failure and all.
    await ada.page.reload()
    await ada.wait_connected()
    await ada.page.get_by_role("button", name="Share").click()
    await expect(row.locator("[data-mail-status=retrying]")).to_be_visible()
    listed = await ada.api("GET", f"/api/documents/{document_id}/invitations")
    assert [(i["email"], i["status"], i["mail"]["status"]) for i in listed] == [
        (sam.email, "pending", "retrying")]

    # A new link to pass on another way works.
    await row.get_by_role("button", name=f"A new link for the invitation to {sam.email}").click()
    link = await dialog.locator("#invite-link-panel").get_by_label("Invitation link").input_value()
    await sam.page.goto(link)
    await sam.wait_connected()
    assert (await sam.api("GET", f"/api/documents/{document_id}"))["role"] == "editor"
