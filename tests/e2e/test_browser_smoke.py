"""The built web app in a real browser: sign up, create a document, edit it from two places.

Two browser contexts (two separate cookie jars, like two devices) sign in as the same user and
open the same `#/d/<id>` URL; what is typed in one shows up in the other, both ways, and a
remote edit before the caret moves the caret with the text.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect

TIMEOUT_MS = 15_000
PASSWORD = "correct horse battery staple"


def _watch_for_errors(page: Page, errors: list[str]) -> None:
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))


async def _wait_editable(page: Page) -> None:
    await expect(page.locator("#connection-status")).to_have_attribute(
        "data-status", "connected", timeout=TIMEOUT_MS
    )
    await expect(page.locator("#editor")).to_be_editable(timeout=TIMEOUT_MS)


async def _caret(page: Page) -> int:
    return await page.locator("#editor").evaluate("el => el.selectionStart")


async def test_two_contexts_edit_the_same_document(
    live_server, frontend_dist: Path, browser: Browser, screenshot_dir: Path
) -> None:
    base_url = live_server.base_url.rstrip("/")
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    title = f"Smoke test {uuid.uuid4().hex[:6]}"
    errors: list[str] = []
    contexts: list[BrowserContext] = []
    try:
        # --- A: sign up (which signs in), create a document, open it from the list
        context_a = await browser.new_context(viewport={"width": 1100, "height": 800})
        contexts.append(context_a)
        page_a = await context_a.new_page()
        page_a.set_default_timeout(TIMEOUT_MS)
        _watch_for_errors(page_a, errors)
        await page_a.goto(f"{base_url}/")
        await expect(page_a.get_by_role("heading", name="Create an account")).to_be_visible()
        await page_a.screenshot(path=screenshot_dir / "01-signed-out.png", full_page=True)

        await page_a.get_by_label("Name").fill("Ada Smoke")
        await page_a.locator("#signup-email").fill(email)
        await page_a.locator("#signup-password").fill(PASSWORD)
        await page_a.get_by_role("button", name="Create account").click()
        await expect(page_a.get_by_role("heading", name="My documents")).to_be_visible()
        await expect(page_a.get_by_role("button", name="Sign out")).to_be_visible()

        await page_a.get_by_label("Title").fill(title)
        await page_a.get_by_role("button", name="Create", exact=True).click()
        await expect(page_a).to_have_url(re.compile(r"#/d/[^/]+$"))
        doc_url = page_a.url

        await page_a.get_by_role("link", name="My documents").click()
        link = page_a.get_by_role("link", name=title)
        await expect(link).to_be_visible()
        await page_a.screenshot(path=screenshot_dir / "02-document-list.png", full_page=True)
        await link.click()
        await expect(page_a).to_have_url(doc_url)
        await expect(page_a.get_by_role("heading", name=title)).to_be_visible()
        await _wait_editable(page_a)

        # --- B: the same user in a second context opens the same URL and signs in there
        context_b = await browser.new_context(viewport={"width": 1100, "height": 800})
        contexts.append(context_b)
        page_b = await context_b.new_page()
        page_b.set_default_timeout(TIMEOUT_MS)
        _watch_for_errors(page_b, errors)
        await page_b.goto(doc_url)
        await expect(page_b.get_by_role("heading", name="Sign in")).to_be_visible()
        await page_b.locator("#signin-email").fill(email)
        await page_b.locator("#signin-password").fill(PASSWORD)
        await page_b.get_by_role("button", name="Sign in").click()
        await expect(page_b).to_have_url(doc_url)
        await expect(page_b.get_by_role("heading", name=title)).to_be_visible()
        await _wait_editable(page_b)

        editor_a = page_a.locator("#editor")
        editor_b = page_b.locator("#editor")

        # --- A types, B sees it
        await editor_a.click()
        await page_a.keyboard.type("Hello from A.")
        await expect(editor_b).to_have_value("Hello from A.", timeout=TIMEOUT_MS)

        # --- B types at the end, A sees it
        await editor_b.click()
        await page_b.keyboard.press("Control+End")
        await page_b.keyboard.type(" Hi from B.")
        await expect(editor_a).to_have_value("Hello from A. Hi from B.", timeout=TIMEOUT_MS)

        # --- A's caret sits after "Hello"; B inserts at the start; A's caret moves along
        await editor_a.focus()
        await editor_a.evaluate("el => el.setSelectionRange(5, 5)")
        await editor_b.focus()
        await page_b.keyboard.press("Control+Home")
        await page_b.keyboard.type(">> ")
        await expect(editor_a).to_have_value(">> Hello from A. Hi from B.", timeout=TIMEOUT_MS)
        assert await _caret(page_a) == 8
        await page_a.keyboard.type(",")
        expected = ">> Hello, from A. Hi from B."
        await expect(editor_a).to_have_value(expected)
        await expect(editor_b).to_have_value(expected, timeout=TIMEOUT_MS)

        await page_a.screenshot(path=screenshot_dir / "03-editor-a.png", full_page=True)
        await page_b.screenshot(path=screenshot_dir / "04-editor-b.png", full_page=True)

        # --- the text is kept by the server: a fresh load shows it
        await page_b.reload()
        await _wait_editable(page_b)
        await expect(editor_b).to_have_value(expected, timeout=TIMEOUT_MS)

        assert errors == [], errors
    finally:
        for context in contexts:
            await context.close()
