"""Browser fixtures for the end-to-end tests (the server itself comes from `live_server`).

The browser is Debian's Chromium (`apt-get install chromium`), never one downloaded by
Playwright. `WIDEN_CHROMIUM` points elsewhere. Without a browser the e2e tests are skipped on
a developer's machine and fail under CI (`CI=true`), where `.ci/run` installs it.

`widen` gives each test a `Widen` helper: people (one browser context each, like separate
devices), signed up through the UI or the API, with helpers to create documents and sections
and to find a section's editor. Shared by every e2e test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.support.api import by_link
from tests.support.server import ServerProcess

CHROMIUM = Path(os.environ.get("WIDEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
# axe-core (a devDependency of the frontend) checks pages for accessibility problems.
AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"

TIMEOUT_MS = 15_000
PASSWORD = "correct horse battery staple"
VIEWPORT: ViewportSize = {"width": 1360, "height": 860}


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def session_chromium_path() -> Path:
    if not CHROMIUM.is_file():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


# One browser for the whole e2e session (each test gets fresh contexts): launching Chromium
# per test costs seconds. Tests using it run in the session's event loop, hence
# `pytestmark = pytest.mark.asyncio(loop_scope="session")` in every e2e module.
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(session_chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(session_chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def frontend_dist() -> Path:
    """The built web app that the server serves; request it after `live_server`."""
    if not (FRONTEND_DIST / "index.html").is_file():
        pytest.fail(f"{FRONTEND_DIST} is not built: cd frontend && npm ci && npm run build")
    return FRONTEND_DIST


# --------------------------------------------------------------------------- people


@dataclass
class Person:
    """One user in one browser context (its own cookie jar, like its own device)."""

    name: str
    email: str
    context: BrowserContext
    page: Page
    base_url: str
    user: dict[str, Any] = field(default_factory=dict)

    # --- the HTTP API, with this context's session cookie

    async def api(
        self, method: str, path: str, body: Any = None, expect_status: int | None = None
    ) -> Any:
        response = await self.context.request.fetch(
            f"{self.base_url}{path}",
            method=method,
            data=body,
            headers={"Origin": self.base_url},
        )
        if expect_status is not None:
            assert response.status == expect_status, (
                f"{method} {path}: {response.status} {await response.text()}"
            )
        elif not response.ok:
            raise AssertionError(f"{method} {path}: {response.status} {await response.text()}")
        text = await response.text()
        return await response.json() if text else None

    async def create_document(
        self, title: str, sections: Sequence[str] = ()
    ) -> tuple[str, list[str]]:
        doc = await self.api("POST", "/api/documents", {"title": title})
        ids = []
        for section_title in sections:
            section = await self.api(
                "POST", f"/api/documents/{doc['id']}/sections", {"title": section_title}
            )
            ids.append(section["id"])
        return doc["id"], ids

    async def invite(
        self,
        document_id: str,
        invitee: Person,
        role: str,
        reason: str,
        sections: list[str] | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        invitation: dict[str, Any] = await self.api(
            "POST",
            f"/api/documents/{document_id}/invitations",
            {
                "email": invitee.email,
                "role": role,
                "reason": reason,
                "sections": sections,
                "message": message,
            },
        )
        return invitation

    async def accept(self, invitation: dict[str, Any]) -> None:
        """Accept an invitation as its link does (the link's secret proves the address)."""
        await self.api("POST", f"/api/invitations/{invitation['id']}/accept",
                       by_link(invitation))

    async def add_member(self, document_id: str, member: Person, role: str, reason: str,
                         sections: list[str] | None = None, message: str | None = None) -> None:
        """Invite `member`, who accepts by the link."""
        await member.accept(await self.invite(document_id, member, role, reason, sections,
                                              message))

    # --- the web app

    async def goto(self, hash_path: str = "/") -> None:
        await self.page.goto(f"{self.base_url}/#{hash_path}")

    async def open_document(self, document_id: str) -> None:
        await self.goto(f"/d/{document_id}")
        await self.wait_connected()

    async def wait_connected(self) -> None:
        await expect(self.page.locator("#connection-status")).to_have_attribute(
            "data-status", "connected", timeout=TIMEOUT_MS
        )

    def section(self, title: str) -> Locator:
        return self.page.locator(f'article.section-card[data-section-title="{title}"]')

    def editor(self, title: str) -> Locator:
        return self.section(title).locator(".ProseMirror")

    async def type_in(self, title: str, text: str, at_end: bool = True) -> None:
        editor = self.editor(title)
        await expect(editor).to_have_attribute("contenteditable", "true")
        await editor.click()
        if at_end:
            await self.page.keyboard.press("Control+End")
        await self.page.keyboard.type(text)

    async def select_text(self, title: str, text: str) -> None:
        """Select the first occurrence of `text` in a section (read-only ones too)."""
        found = await self.editor(title).evaluate(
            """(root, needle) => {
                const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    const at = node.data.indexOf(needle);
                    if (at >= 0) {
                        const range = document.createRange();
                        range.setStart(node, at);
                        range.setEnd(node, at + needle.length);
                        const sel = window.getSelection();
                        sel.removeAllRanges();
                        sel.addRange(range);
                        document.dispatchEvent(new Event('selectionchange'));
                        return true;
                    }
                }
                return false;
            }""",
            text,
        )
        assert found, f"{text!r} not found in section {title!r}"


def _new_email(name: str) -> str:
    return f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.org"


class Widen:
    def __init__(self, base_url: str, browser: Browser, screenshots: Path) -> None:
        self.base_url = base_url.rstrip("/")
        self.browser = browser
        self.screenshots = screenshots
        self.people: list[Person] = []
        self.errors: list[str] = []

    async def account(self, name: str) -> tuple[str, dict[str, Any]]:
        """A new account, registered through the API alone (no browser context, no sign-in):
        its email and user. `person(name, email=...)` later signs it in, in a browser."""
        email = _new_email(name)
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            response = await client.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD, "name": name},
                headers={"Origin": self.base_url})
        assert response.status_code == 201, f"register: {response.status_code} {response.text}"
        return email, response.json()

    async def person(
        self, name: str, sign_up: str = "api", viewport: ViewportSize | None = None,
        *, email: str | None = None,
    ) -> Person:
        """A user in a new browser context: a new one (`sign_up="ui"` goes through the
        sign-up form), or the account `email` made by `account`, signed in."""
        context = await self.browser.new_context(viewport=viewport or VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{name}: {exc}"))
        # Whatever the app's Content-Security-Policy blocks is a failure too: the app must
        # work under the policy the server sends.
        page.on("console", lambda message: self.errors.append(f"{name}: {message.text}")
                if "Content Security Policy" in message.text else None)
        registered = email is not None
        email = email or _new_email(name)
        person = Person(name, email, context, page, self.base_url)
        self.people.append(person)
        if registered:
            login = await person.api(
                "POST", "/api/auth/login", {"email": email, "password": PASSWORD}
            )
            person.user = login["user"]
        elif sign_up == "ui":
            await page.goto(f"{self.base_url}/")
            await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
            await page.screenshot(path=self.screenshots / "00-sign-in.png")
            await page.locator("#signup-name").fill(name)
            await page.locator("#signup-email").fill(email)
            await page.locator("#signup-password").fill(PASSWORD)
            await page.get_by_role("button", name="Create account").click()
            await expect(page.get_by_role("heading", name="Your documents")).to_be_visible()
        else:
            await person.api(
                "POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": name}
            )
            login = await person.api(
                "POST", "/api/auth/login", {"email": email, "password": PASSWORD}
            )
            person.user = login["user"]
        if not person.user:
            person.user = await person.api("GET", "/api/me")
        return person

    async def screenshot(self, person: Person, name: str, full_page: bool = False) -> Path:
        path = self.screenshots / name
        await person.page.screenshot(path=path, full_page=full_page)
        return path

    async def accessibility_problems(self, person: Person) -> list[str]:
        """Serious and critical axe-core findings on the person's current page."""
        if not AXE.is_file():
            pytest.fail(f"{AXE} missing: cd frontend && npm ci")
        if not await person.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated through the browser's devtools protocol, as the app's own scripts are
            # not: a <script> tag would be an inline script, which the app's CSP refuses.
            await person.page.evaluate(AXE.read_text())
        violations = await person.page.evaluate(
            """async () => {
                const result = await window.axe.run(document, {
                    resultTypes: ['violations'],
                });
                return result.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => `${v.id}: ${v.help} — ` +
                         v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
            }"""
        )
        return list(violations)

    async def close(self) -> None:
        for person in self.people:
            await person.context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def widen(
    live_server: ServerProcess, frontend_dist: Path, browser: Browser, screenshot_dir: Path
) -> AsyncIterator[Widen]:
    app = Widen(live_server.base_url, browser, screenshot_dir)
    try:
        yield app
        assert app.errors == [], app.errors
    finally:
        await app.close()
