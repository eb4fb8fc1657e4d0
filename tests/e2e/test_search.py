"""Search on the home page (issue 8, item 5): results as one types, the match highlighted in
a <mark> built as text (a document's text never becomes HTML here), a result that opens its
section; and the document list sorted and filtered."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import TIMEOUT_MS, Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOSTILE = '<img src=x onerror="window.injected=1"> quillfeather <b>bold</b>'


async def test_search_box_sort_and_filter(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    sam = await widen.person("Sam Specialist")
    notes_id, (_intro_id, _methods_id) = await ada.create_document("Notes", ["Intro", "Methods"])
    await ada.create_document("Another draft", ["Only"])
    shared_id, _ = await sam.create_document("Sam's plan", ["Plan"])
    await sam.add_member(shared_id, ada, "viewer", "review")

    await ada.open_document(notes_id)
    await ada.type_in("Methods", HOSTILE)
    await expect(ada.editor("Methods")).to_contain_text("quillfeather")

    # The index follows in the background (WIDEN_SEARCH_INDEX_DELAY_SECONDS): wait for it.
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        while not await ada.api("GET", "/api/search?q=quillfeather"):
            await asyncio.sleep(0.1)

    page = ada.page
    await ada.goto("/")
    box = page.get_by_role("searchbox", name="Search documents")
    await box.fill("quillfeather")
    result = page.locator(".search-result")
    await expect(result).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(result.locator("mark")).to_have_text("quillfeather")
    await expect(result).to_contain_text("§ Methods")
    # The markup typed into the document is shown as text, and nothing ran.
    await expect(result.locator(".search-snippet")).to_contain_text('<img src=x onerror=')
    assert await result.locator("img, b").count() == 0
    assert await page.evaluate("window.injected") is None
    await widen.screenshot(ada, "home-search.png")

    await box.fill("zzznothing")
    await expect(page.locator("#search-status")).to_contain_text("Nothing found")
    await box.fill("quillfeather")
    await result.locator("a.doc-link").click()
    await expect(ada.section("Methods")).to_be_visible()

    # Sort and filter the list.
    await ada.goto("/")
    links = page.locator(".home-list .doc-link")
    await page.get_by_label("Sort documents by").select_option("title")
    await expect(links).to_have_text(["Another draft", "Notes", "Sam's plan"])
    await page.get_by_label("Show documents").select_option("shared")
    await expect(links).to_have_text(["Sam's plan"])
    await page.get_by_label("Show documents").select_option("owned")
    await expect(links).to_have_text(["Another draft", "Notes"])
