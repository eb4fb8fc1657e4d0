"""Acceptance 3: a reviewer comments and suggests; the author accepts the suggestion, which
edits the text for everyone; threads get replies and are resolved."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_reviewer_suggests_and_author_accepts(widen: Widen) -> None:
    ada = await widen.person("Ada Lovelace")
    rex = await widen.person("Rex Reviewer")
    document_id, _ = await ada.create_document("Press release", ["Headline", "Body"])
    await ada.add_member(document_id, rex, "reviewer", "review", message="Please proof-read.")

    await ada.open_document(document_id)
    await ada.type_in("Headline", "A quick engine for everyone")
    await ada.type_in("Body", "It computes tables without mistakes.")

    await rex.open_document(document_id)
    await expect(rex.editor("Body")).to_have_text("It computes tables without mistakes.")
    for title in ("Headline", "Body"):
        await expect(rex.editor(title)).to_have_attribute("contenteditable", "false")
        await expect(rex.section(title).locator(".lock-badge")).to_contain_text("you can comment")
    await expect(rex.page.locator("#format-tools")).to_be_hidden()

    # --- Rex suggests a replacement for "quick" and comments on "tables"
    await rex.select_text("Headline", "quick")
    await rex.page.get_by_role("button", name="Suggest a replacement").click()
    composer = rex.page.get_by_role("form", name="Suggest a change")
    await expect(composer.get_by_label("Replace with")).to_have_value("quick")
    await composer.get_by_label("Replace with").fill("fast")
    await composer.get_by_label("Note").fill("Shorter and plainer.")
    await composer.get_by_role("button", name="Suggest").click()

    await rex.select_text("Body", "tables")
    await rex.page.get_by_role("button", name="Comment on the selected text").click()
    await (
        rex.page.get_by_role("form", name="New comment")
        .get_by_label("Comment")
        .fill("Which tables? Logarithms?")
    )
    await (
        rex.page.get_by_role("form", name="New comment")
        .get_by_role("button", name="Comment")
        .click()
    )

    # --- Ada sees both threads and the highlighted text
    threads = ada.page.locator("#comments-panel li.thread")
    await expect(threads).to_have_count(2)
    suggestion = threads.filter(has_text="Shorter and plainer.")
    await expect(suggestion.locator("del")).to_have_text("quick")
    await expect(suggestion.locator("ins")).to_have_text("fast")
    await expect(ada.section("Headline").locator(".comment-mark")).to_have_text("quick")
    await expect(ada.section("Body").locator(".comment-mark")).to_have_text("tables")

    # The highlights stay on their words while the author edits around them.
    await ada.editor("Body").click()
    await ada.page.keyboard.press("Control+Home")
    await ada.page.keyboard.type("Indeed, ")
    await expect(rex.editor("Body")).to_have_text("Indeed, It computes tables without mistakes.")
    await expect(rex.section("Body").locator(".comment-mark")).to_have_text("tables")
    await expect(ada.section("Body").locator(".comment-mark")).to_have_text("tables")

    # Rex types into the text meanwhile: nothing happens (the text is read-only to him).
    await rex.editor("Body").click()
    await rex.page.keyboard.type("zzz")

    # --- Ada replies to the comment, then accepts the suggestion: the text changes everywhere
    comment = threads.filter(has_text="Which tables?")
    await comment.get_by_label("Reply").fill("Yes, logarithms.")
    await comment.get_by_label("Reply").press("Enter")
    await expect(
        rex.page.locator("#comments-panel li.thread", has_text="Which tables?")
    ).to_contain_text("Yes, logarithms.")

    # Ada's reply is hers: Rex gets no Edit or Delete for it. His own comment he edits, and
    # Ada sees the new words.
    thread_id = await rex.page.locator(
        "#comments-panel li.thread", has_text="Which tables?").get_attribute("data-comment-id")
    rex_thread = rex.page.locator(f'#comments-panel li.thread[data-comment-id="{thread_id}"]')
    ada_reply = rex_thread.locator(".replies li", has_text="Yes, logarithms.")
    await expect(ada_reply).to_be_visible()
    await expect(ada_reply.get_by_role("button", name="Edit")).to_have_count(0)
    await expect(ada_reply.get_by_role("button", name="Delete")).to_have_count(0)
    await rex_thread.locator(".thread-actions").get_by_role("button", name="Edit").click()
    await rex_thread.get_by_label("Edit comment").fill("Which tables? Logarithms? Sines?")
    await rex_thread.get_by_role("button", name="Save").click()
    await expect(comment.locator(".thread-body").first).to_have_text(
        "Which tables? Logarithms? Sines?")
    await expect(comment).to_contain_text("edited")
    # And Ada cannot edit Rex's words, only delete the thread (she owns the document).
    await expect(
        comment.locator(".thread-actions").last.get_by_role("button", name="Edit")
    ).to_have_count(0)

    await suggestion.click()
    await expect(ada.section("Headline").locator(".comment-mark.is-active")).to_have_text("quick")
    await widen.screenshot(ada, "04-review-threads.png")
    assert await widen.accessibility_problems(ada) == []
    await suggestion.get_by_role("button", name="Accept").click()
    await expect(ada.editor("Headline")).to_have_text("A fast engine for everyone")
    await expect(rex.editor("Headline")).to_have_text("A fast engine for everyone")
    await expect(ada.page.locator("#open-comments-count")).to_have_text("1")

    # Rex resolves his comment; no open threads are left anywhere.
    await (
        rex.page.locator("#comments-panel li.thread", has_text="Which tables?")
        .get_by_role("button", name="Resolve")
        .click()
    )
    await expect(ada.page.locator("#open-comments-count")).to_have_text("0")
    await expect(rex.page.locator("#open-comments-count")).to_have_text("0")
    await ada.page.get_by_role("button", name="Show closed (2)").click()
    await expect(
        ada.page.locator('#comments-panel li.thread[data-status="accepted"]')
    ).to_contain_text("Accepted by Ada Lovelace")
    await expect(
        ada.page.locator('#comments-panel li.thread[data-status="resolved"]')
    ).to_contain_text("Resolved by Rex Reviewer")

    # The reviewer's socket was never refused: his read-only editors wrote nothing.
    await expect(rex.page.locator("#connection-status")).to_have_attribute(
        "data-status", "connected"
    )
    await expect(rex.page.locator("#doc-alert")).to_be_hidden()
    await expect(ada.editor("Body")).to_have_text("Indeed, It computes tables without mistakes.")
    await widen.screenshot(ada, "05-review-accepted.png")
