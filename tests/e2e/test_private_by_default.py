"""Acceptance 1: an author signs up, creates a document and writes two sections; to anyone
else the document does not exist (not listed, and its URL says so)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_new_document_is_private(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace", sign_up="ui")
    page = ada.page

    # --- create a document from the home page
    await page.get_by_label("New document title").fill("Grant proposal")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page).to_have_url(re.compile(r"#/d/[^/]+$"))
    await expect(page.get_by_role("heading", name="Grant proposal", level=1)).to_be_visible()
    await ada.wait_connected()
    document_url = page.url
    document_id = document_url.rsplit("/", 1)[1]

    # --- it opens with one empty section and the caret in it: name it, write, add another
    await expect(page.locator("article.section-card")).to_have_count(1)
    await expect(page.locator(".ProseMirror").first).to_be_focused()
    first_title = page.get_by_label("Section title").first
    await first_title.fill("Introduction")
    await first_title.press("Enter")
    await expect(ada.editor("Introduction")).to_be_focused()
    await page.keyboard.type("We propose a study of engines.")
    await expect(ada.editor("Introduction")).to_have_text("We propose a study of engines.")
    for title, text in (("Methods", "Punched cards, carefully ordered."),):
        await page.get_by_role("button", name="Add section").click()
        title_input = page.get_by_label("Section title").last
        await expect(title_input).to_be_focused()
        await title_input.fill(title)
        await title_input.press("Enter")
        await expect(ada.section(title)).to_be_visible()
        await expect(ada.editor(title)).to_be_focused()
        await page.keyboard.type(text)
        await expect(ada.editor(title)).to_have_text(text)

    # --- the text is kept by the server: a fresh load shows it, in order
    await page.reload()
    await ada.wait_connected()
    await expect(ada.editor("Introduction")).to_have_text("We propose a study of engines.")
    await expect(ada.editor("Methods")).to_have_text("Punched cards, carefully ordered.")
    titles = await page.locator("article.section-card").evaluate_all(
        "cards => cards.map(c => c.dataset.sectionTitle)"
    )
    assert titles == ["Introduction", "Methods"]

    # --- reorder, status, due date: kept by the server
    await ada.section("Introduction").get_by_role("button", name="Move section down").click()
    cards = page.locator("article.section-card")
    await expect(cards.first).to_have_attribute("data-section-title", "Methods")
    await ada.section("Methods").get_by_label("Status").select_option("in_progress")
    await ada.section("Methods").get_by_label("Due").fill("2030-05-01")
    await expect(ada.section("Methods").get_by_label("Status")).to_have_attribute(
        "data-status", "in_progress"
    )
    await page.reload()
    await ada.wait_connected()
    await expect(cards.first).to_have_attribute("data-section-title", "Methods")
    await expect(ada.section("Methods").get_by_label("Status")).to_have_value("in_progress")
    await expect(ada.section("Methods").get_by_label("Due")).to_have_value("2030-05-01")
    await expect(ada.editor("Methods")).to_have_text("Punched cards, carefully ordered.")

    # --- on the home page it is a private draft
    await page.get_by_role("link", name="Your documents").click()
    drafts = page.locator("section", has=page.get_by_role("heading", name="My drafts"))
    await expect(drafts.get_by_role("link", name="Grant proposal", exact=True)).to_be_visible()
    await expect(drafts.get_by_text("Private", exact=True)).to_be_visible()

    assert await widen.accessibility_problems(ada) == []

    # --- someone else: not in any of their lists, and the URL says it does not exist
    bob = await widen.person("Bob Babbage")
    await bob.goto("/")
    await expect(bob.page.get_by_role("heading", name="My drafts")).to_be_visible()
    await expect(bob.page.get_by_text("Grant proposal")).to_have_count(0)
    await bob.api("GET", f"/api/documents/{document_id}", expect_status=404)
    await bob.page.goto(document_url)
    await expect(bob.page.get_by_role("alert")).to_contain_text(
        "does not exist or you have no access"
    )
    await expect(bob.page.locator(".ProseMirror")).to_have_count(0)
    assert await widen.accessibility_problems(bob) == []
