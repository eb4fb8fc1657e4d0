"""Browser fixtures for the end-to-end tests (the server itself comes from `live_server`).

The browser is Debian's Chromium (`apt-get install chromium`), never one downloaded by
Playwright. `WIDEN_CHROMIUM` points elsewhere. Without a browser the e2e tests are skipped on
a developer's machine and fail under CI (`CI=true`), where `.ci/run` installs it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

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


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest_asyncio.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
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
