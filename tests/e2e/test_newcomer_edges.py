"""Edges a newcomer hit (issue 8, item 6): a new document opens with one empty section and the
caret in it; an oversized paste says so (its size and the limit) and the socket does not
reconnect in a loop; a member stays in the others' presence list across a reconnect; each
person has a colour of their own; the skip link moves focus within the page."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, WebSocket, expect

from tests.e2e.conftest import TIMEOUT_MS, Person, Widen
from tests.support.server import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Within a second or two, not after the ~15 s awareness renewal the list waited for before.
PRESENCE_BACK_MS = 3_000
PALETTE_SIZE = 10


def user_color_index(user_id: str) -> int:
    """labels.ts `userColor`: which palette colour a user's own is (Java-style string hash)."""
    value = 0
    for char in user_id:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    signed = value - (1 << 32) if value >= 1 << 31 else value
    return abs(signed) % PALETTE_SIZE


async def test_a_new_document_opens_with_a_section_and_the_caret_in_it(widen: Widen) -> None:
    nora = await widen.person("Nora New")
    await nora.goto("/")
    await nora.page.locator("#new-doc-title").fill("First steps")
    await nora.page.locator("#new-doc-title").press("Enter")
    await nora.wait_connected()
    cards = nora.page.locator("article.section-card")
    await expect(cards).to_have_count(1)
    await expect(nora.page.locator(".ProseMirror:focus")).to_have_count(1, timeout=TIMEOUT_MS)
    await nora.page.keyboard.type("Typed at once.")
    await expect(cards.first.locator(".ProseMirror")).to_have_text("Typed at once.")
    await widen.screenshot(nora, "edges-new-document.png")

    # --- the skip link: focus moves to the content, and the page stays where it is
    url = nora.page.url
    await nora.page.locator(".skip-link").focus()
    await nora.page.keyboard.press("Enter")
    await expect(nora.page.locator("#app")).to_be_focused()
    assert nora.page.url == url
    await expect(cards).to_have_count(1)


async def test_a_member_stays_present_across_a_reconnect_in_a_colour_of_their_own(
    widen: Widen,
) -> None:
    owner = await widen.person("Olga Owner")
    # Someone whose own colour is the owner's, to see that each still gets one of their own.
    # Accounts only, until one collides (one in ten does): a browser context for each took
    # 18–63 s in all.
    candidates = (f"Twin Candidate {n}" for n in itertools.count(1))
    while True:
        name = next(candidates)
        email, user = await widen.account(name)
        if user_color_index(user["id"]) == user_color_index(owner.user["id"]):
            break
    twin = await widen.person(name, email=email)
    document_id, _ = await owner.create_document("Together", ["Notes"])
    await owner.add_member(document_id, twin, "reviewer", "review")
    await owner.open_document(document_id)
    await twin.open_document(document_id)

    def avatar(viewer: Person, of: Person) -> Locator:
        return viewer.page.locator(f'#presence [data-user-id="{of.user["id"]}"] .avatar')

    await expect(avatar(owner, twin)).to_be_visible(timeout=TIMEOUT_MS)
    await expect(avatar(twin, owner)).to_be_visible(timeout=TIMEOUT_MS)
    colors = {}
    for viewer in (owner, twin):
        for of in (owner, twin):
            colors[viewer.name, of.name] = await avatar(viewer, of).get_attribute("style")
    assert colors[owner.name, owner.name] != colors[owner.name, twin.name], colors
    assert colors[owner.name, owner.name] == colors[twin.name, owner.name], colors
    assert colors[owner.name, twin.name] == colors[twin.name, twin.name], colors
    await widen.screenshot(owner, "edges-presence-colours.png")

    # --- the server closes the twin's socket (4409: their access widened) and they reconnect
    # with the same Y.Doc and awareness client id: both see each other again at once
    sockets: list[WebSocket] = []
    twin.page.on("websocket", lambda socket: sockets.append(socket))
    await owner.api("PATCH", f"/api/documents/{document_id}/members/{twin.user['id']}",
                    {"role": "editor"})
    await expect(twin.page.locator("#doc-notice")).to_contain_text("Your access changed",
                                                                   timeout=TIMEOUT_MS)
    await twin.wait_connected()
    assert len(sockets) == 1, "the twin reconnected once"
    await expect(avatar(owner, twin)).to_be_visible(timeout=PRESENCE_BACK_MS)
    await expect(avatar(twin, owner)).to_be_visible(timeout=PRESENCE_BACK_MS)


async def test_an_oversized_paste_says_so_and_does_not_reconnect_in_a_loop(
    start_server: Callable[..., ServerProcess], frontend_dist: Path, browser: Browser,
    screenshot_dir: Path,
) -> None:
    server = start_server(max_message_bytes="65536")
    widen = Widen(server.base_url, browser, screenshot_dir)
    try:
        paula = await widen.person("Paula Paste")
        document_id, _ = await paula.create_document("Big paste", ["Notes"])
        sockets: list[WebSocket] = []
        paula.page.on("websocket", lambda socket: sockets.append(socket))
        await paula.open_document(document_id)
        opened = len(sockets)
        assert opened >= 1
        await paula.type_in("Notes", "Before the paste. ")
        await paula.editor("Notes").evaluate(
            """(editor) => {
                const data = new DataTransfer();
                data.setData('text/plain', 'pasted words '.repeat(8000));
                editor.dispatchEvent(new ClipboardEvent('paste', {
                    clipboardData: data, bubbles: true, cancelable: true}));
            }"""
        )
        alert = paula.page.locator("#doc-alert")
        await expect(alert).to_contain_text("too big to send", timeout=TIMEOUT_MS)
        await expect(alert).to_contain_text("over the limit of 65,536 bytes")
        await expect(alert).to_contain_text("bytes")
        await expect(paula.page.locator("#connection-status")).to_have_attribute(
            "data-status", "stopped")
        await expect(paula.editor("Notes")).to_have_attribute("contenteditable", "false")
        await widen.screenshot(paula, "edges-oversized-paste.png")
        await asyncio.sleep(5)  # a reconnect loop made ~3 sockets a second
        assert len(sockets) == opened, f"{len(sockets) - opened} reconnects after the paste"
        assert widen.errors == [], widen.errors
    finally:
        await widen.close()
