"""From the document page itself (not only its home card), its owner moves it to the trash and
a member leaves it (one who follows progress only, from the page they have of it); each is
asked first, and lands on their home page without it."""

from __future__ import annotations

import pytest
from playwright.async_api import Dialog, expect

from tests.e2e.conftest import Person, Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _answer_next_dialog(person: Person, asked: list[str], *, yes: bool) -> None:
    """The next dialog on the person's page goes into `asked`, then is accepted (`yes`) or
    dismissed."""
    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if yes else dialog.dismiss())

    person.page.once("dialog", answer)


async def test_the_owner_moves_the_open_document_to_the_trash(widen: Widen) -> None:
    ada = await widen.person("Ada Owner")
    sam = await widen.person("Sam Member")
    document_id, _ = await ada.create_document("Budget 2026", ["Costs"])
    await ada.add_member(document_id, sam, "editor", "help")
    await ada.open_document(document_id)
    await sam.open_document(document_id)

    # Saying no keeps it; the question names the trash period.
    asked: list[str] = []
    _answer_next_dialog(ada, asked, yes=False)
    await ada.page.get_by_role("button", name="Move to trash").click()
    # The click returns once the dialog was answered.
    assert len(asked) == 1
    assert "Move “Budget 2026” to the trash?" in asked[0]
    assert "for 30 days" in asked[0]
    await expect(ada.page.locator("#doc-title")).to_have_text("Budget 2026")
    await ada.api("GET", f"/api/documents/{document_id}")

    _answer_next_dialog(ada, asked, yes=True)
    await ada.page.get_by_role("button", name="Move to trash").click()
    await expect(ada.page.get_by_role("heading", name="Your documents")).to_be_visible()
    await expect(ada.page.locator(f'.home-main li[data-document-id="{document_id}"]')
                 ).to_have_count(0)
    await expect(ada.page.locator(f'#trash li[data-document-id="{document_id}"]')
                 ).to_contain_text("Budget 2026")
    await expect(ada.page.locator("#toasts")).to_contain_text("“Budget 2026” moved to the trash.")
    # The member's open page says what happened.
    await expect(sam.page.get_by_role("alert")).to_contain_text("deleted by its owner")


async def test_a_member_leaves_the_open_document(widen: Widen) -> None:
    ada = await widen.person("Ada Owner")
    rae = await widen.person("Rae Reviewer")
    document_id, _ = await ada.create_document("Field notes", ["Summary"])
    await ada.add_member(document_id, rae, "reviewer", "help")
    await rae.open_document(document_id)
    await expect(rae.page.get_by_role("button", name="Move to trash")).to_have_count(0)

    asked: list[str] = []
    _answer_next_dialog(rae, asked, yes=True)
    await rae.page.get_by_role("button", name="Leave this document").click()
    await expect(rae.page.get_by_role("heading", name="Your documents")).to_be_visible()
    assert asked == ["Leave “Field notes”? You lose access at once; only the owner can invite "
                     "you again."]
    await expect(rae.page.locator(f'li[data-document-id="{document_id}"]')).to_have_count(0)
    await expect(rae.page.locator("#toasts")).to_contain_text("You left “Field notes”.")
    await rae.api("GET", f"/api/documents/{document_id}", expect_status=404)

    # Someone who follows its progress only leaves from the page they have of it.
    fay = await widen.person("Fay Follower")
    await ada.add_member(document_id, fay, "progress", "help")
    await fay.goto(f"/d/{document_id}")
    await expect(fay.page.locator("#access-line")).to_be_visible()
    _answer_next_dialog(fay, asked, yes=True)
    await fay.page.get_by_role("button", name="Leave this document").click()
    await expect(fay.page.get_by_role("heading", name="Your documents")).to_be_visible()
    await expect(fay.page.locator(f'li[data-document-id="{document_id}"]')).to_have_count(0)
    assert asked[-1].startswith("Leave “Field notes”?")

    log = await ada.api("GET", f"/api/documents/{document_id}/log")
    assert [(e["kind"], e["subject"]["id"]) for e in log["events"] if e["kind"] == "left"] == [
        ("left", rae.user["id"]), ("left", fay.user["id"])]
