"""A member is a potential attacker: what one writes through the CRDT or publishes in awareness
with a raw Yjs client (no web app, so none of its checks) reaches the other members' pages only
as harmless text, links only to web and mail addresses, and colours only as colours."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Dialog, Request, Route, expect
from pycrdt import XmlElement, XmlFragment, XmlText

from tests.e2e.conftest import Person, Widen
from tests.support.yclient import YClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOSTILE_HREF = "javascript:alert(document.cookie)"
SAFE_HREF = "https://example.org/"
# Port 1 on this machine: nothing listens there, so the only way a page asks for it is by
# following an address an attacker slipped into its CSS.
TRAP_PORT = 1


async def _member(widen: Widen, owner: Person, document_id: str, name: str, role: str) -> Person:
    person = await widen.person(name)
    await owner.add_member(document_id, person, role, "help")
    return person


async def _raw_client(widen: Widen, person: Person, document_id: str) -> YClient:
    """A plain pycrdt peer on `person`'s own ticket, as any member can run one."""
    ticket = (await person.api("POST", f"/api/documents/{document_id}/ticket"))["ticket"]
    ws_base = widen.base_url.replace("http", "ws", 1)
    client_id = random.randrange(1, 2**31)
    url = f"{ws_base}/ws/{document_id}?ticket={ticket}"
    return await YClient(url, client_id=client_id).connect_synced()


async def test_a_javascript_link_written_through_the_crdt_stays_inert(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    document_id, (intro_id,) = await ada.create_document("Launch plan", ["Intro"])
    mallory = await _member(widen, ada, document_id, "Mallory Editor", "editor")
    vera = await _member(widen, ada, document_id, "Vera Viewer", "viewer")
    await vera.open_document(document_id)

    attacker = await _raw_client(widen, mallory, document_id)

    def write_links(doc: Any) -> None:
        fragment = doc.get(f"section:{intro_id}", type=XmlFragment)
        text = fragment.children.append(XmlElement("paragraph")).children.append(XmlText())
        text.insert(0, "Read ")
        text.insert(5, "the brief", {"link": {"href": HOSTILE_HREF, "title": None}})
        text.insert(14, ", or ")
        text.insert(19, "the site", {"link": {"href": SAFE_HREF, "title": None}})
        text.insert(27, ".")

    await attacker.edit(write_links)
    editor = vera.editor("Intro")
    await expect(editor).to_have_text("Read the brief, or the site.")
    await expect(editor.locator("a")).to_have_count(2)
    hostile = editor.locator("a", has_text="the brief")
    safe = editor.locator("a", has_text="the site")
    assert await hostile.get_attribute("href") is None
    assert await safe.get_attribute("href") == SAFE_HREF
    assert "javascript" not in (await editor.inner_html()).lower()

    # Vera's view is read-only, so a click follows a link: the hostile one must do nothing.
    dialogs: list[str] = []
    opened: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        asyncio.ensure_future(dialog.dismiss())

    async def fulfil(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/plain", body="elsewhere")

    vera.context.on("dialog", on_dialog)
    vera.context.on("page", lambda page: opened.append(page.url))
    await vera.context.route(f"{SAFE_HREF}**", fulfil)
    await hostile.click()
    # The safe link opens its tab after whatever the hostile click started: a barrier.
    async with vera.context.expect_page() as popup_info:
        await safe.click()
    popup = await popup_info.value
    await popup.wait_for_load_state()
    assert popup.url == SAFE_HREF
    assert dialogs == []
    assert len(opened) == 1, opened
    assert await vera.page.evaluate("() => location.hash") == f"#/d/{document_id}"
    await attacker.close()


async def test_awareness_colours_carrying_css_fetch_nothing(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    document_id, (intro_id,) = await ada.create_document("Launch plan", ["Intro"])
    mallory = await _member(widen, ada, document_id, "Mallory Editor", "editor")

    trapped: list[str] = []

    def on_request(request: Request) -> None:
        if urlsplit(request.url).port == TRAP_PORT:
            trapped.append(request.url)

    ada.context.on("request", on_request)
    await ada.open_document(document_id)

    writer = await _raw_client(widen, mallory, document_id)

    def write_text(doc: Any) -> None:
        fragment = doc.get(f"section:{intro_id}", type=XmlFragment)
        fragment.children.append(XmlElement("paragraph")).children.append(XmlText()).insert(
            0, "Mallory was here"
        )

    await writer.edit(write_text)
    await expect(ada.editor("Intro")).to_have_text("Mallory was here")
    # The writer's first items: the paragraph (clock 0), its text (1), the characters (2...).
    # A selection over "Mallory", as y-prosemirror publishes one.
    cursor = {
        "anchor": {"item": {"client": writer.doc.client_id, "clock": 2}, "assoc": 0},
        "head": {"item": {"client": writer.doc.client_id, "clock": 9}, "assoc": 0},
    }
    colours = [
        f"red;background:url(http://127.0.0.1:{TRAP_PORT}/a)",
        f"url(http://127.0.0.1:{TRAP_PORT}/b)",
        f"#fff;background-image:url(//127.0.0.1:{TRAP_PORT}/c);x:",
    ]
    publishers = [writer] + [await _raw_client(widen, mallory, document_id) for _ in colours[1:]]
    for client, colour in zip(publishers, colours, strict=True):
        await client.set_awareness(
            {
                "user": {"name": "<img src=x onerror=alert(1)>", "color": colour},
                "cursor": cursor,
                "section": intro_id,
            }
        )

    carets = ada.editor("Intro").locator(".remote-caret")
    await expect(carets).to_have_count(len(colours))
    # Equal selections are drawn as one element (ProseMirror merges equal inline decorations).
    await expect(ada.editor("Intro").locator(".remote-selection").first).to_have_text("Mallory")
    # Let the page lay out and paint what arrived (images in CSS load from there).
    await ada.page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )
    drawn = await ada.page.evaluate(
        """() => {
            const styles = [...document.querySelectorAll('[style]')]
                .map(e => e.getAttribute('style'));
            const carets = [...document.querySelectorAll('.remote-caret')];
            const selections = [...document.querySelectorAll('.remote-selection')];
            return {
                styles,
                colours: carets.map(c => c.style.getPropertyValue('--c')),
                names: carets.map(c => c.dataset.name),
                images: [
                    ...carets.map(c => getComputedStyle(c, '::after').backgroundImage),
                    ...selections.map(s => getComputedStyle(s).backgroundImage),
                ],
                img: document.querySelectorAll('.ProseMirror img').length,
            };
        }"""
    )
    assert [s for s in drawn["styles"] if "url(" in s.lower()] == []
    assert all(image == "none" for image in drawn["images"]), drawn["images"]
    assert all(len(c) == 7 and c.startswith("#") for c in drawn["colours"]), drawn["colours"]
    # The server puts the member's own name in (what a raw client sent is dropped); either
    # way it is text in an attribute, never an element.
    assert drawn["names"] == ["Mallory Editor"] * len(colours)
    assert drawn["img"] == 0
    assert trapped == []
    for client in publishers:
        await client.close()
