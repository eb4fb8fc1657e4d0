"""Acceptance 6: one browser loses its network, keeps typing (the page says it is offline with
unsent edits), gets the network back, and both browsers converge.

How the connection is cut: `context.set_offline(True)` (Chromium's network emulation). It fires
the page's `offline` event, and the app itself closes its socket at once on that event (it does
not wait for TCP to notice), then reconnects on `online`; edits made meanwhile go out in the
Yjs sync handshake. No debug hook is needed."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_offline_edits_sync_on_reconnect(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    eve = await widen.person("Eve Editor")
    document_id, _ = await ada.create_document("Minutes", ["Notes"])
    await ada.add_member(document_id, eve, "editor", "help")

    await ada.open_document(document_id)
    await eve.open_document(document_id)
    await ada.type_in("Notes", "Agenda.")
    await expect(eve.editor("Notes")).to_have_text("Agenda.")

    # --- Eve's network goes; the page says so and keeps her edits
    await eve.context.set_offline(True)
    status = eve.page.locator("#connection-status")
    await expect(status).to_have_attribute("data-status", "offline")
    await eve.type_in("Notes", " Eve wrote this offline.")
    await expect(status).to_contain_text("Offline")
    await expect(status).to_contain_text("unsent")
    await widen.screenshot(eve, "09-offline.png")

    # Ada keeps writing meanwhile and does not see Eve's words yet.
    await ada.editor("Notes").click()
    await ada.page.keyboard.press("Control+Home")
    await ada.page.keyboard.type("Monday. ")
    await expect(ada.editor("Notes")).to_have_text("Monday. Agenda.")

    # --- the network returns: both converge on both edits
    await eve.context.set_offline(False)
    await expect(status).to_have_attribute("data-status", "connected")
    await expect(status).not_to_contain_text("unsent")
    final = "Monday. Agenda. Eve wrote this offline."
    await expect(ada.editor("Notes")).to_have_text(final)
    await expect(eve.editor("Notes")).to_have_text(final)

    # And the server kept it.
    await ada.page.reload()
    await ada.wait_connected()
    await expect(ada.editor("Notes")).to_have_text(final)

    # --- offline again; meanwhile the owner makes Eve a viewer. Back online, the page re-reads
    # her access first: her unsent edits could no longer be made (the server would refuse
    # them), so it starts again from the server's copy and says so.
    await eve.context.set_offline(True)
    await expect(status).to_have_attribute("data-status", "offline")
    await eve.type_in("Notes", " Never sent.")
    await ada.api(
        "PATCH", f"/api/documents/{document_id}/members/{eve.user['id']}", {"role": "viewer"}
    )
    await eve.context.set_offline(False)
    await expect(eve.page.locator("#doc-notice")).to_contain_text("Your access changed")
    await expect(eve.page.locator("#doc-notice")).to_contain_text("unsent edits were discarded")
    await expect(status).to_have_attribute("data-status", "connected")
    await expect(eve.editor("Notes")).to_have_text(final)
    await expect(eve.editor("Notes")).to_have_attribute("contenteditable", "false")
    await expect(eve.page.locator("#doc-alert")).to_be_hidden()
    await expect(ada.editor("Notes")).to_have_text(final)
