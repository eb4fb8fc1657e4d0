"""Progress pages in Chromium (issue 9): the manager's dashboard and a document's progress
page draw their charts from real data, the dashboard sorts, a `progress` member's pages hold
no word of the text, and a page's numbers move when someone types, without a reload.
Screenshots: tests/e2e/screenshots/progress-*.png."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import TIMEOUT_MS, Person, Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")

MARKERS = {"Intro": "zebramarker", "Budget": "walrusmarker", "Risks": "ibexmarker"}


async def _charts_drawn(charts: Locator, count: int) -> None:
    """`count` charts, each a canvas uPlot drew with a real size."""
    await expect(charts).to_have_count(count, timeout=TIMEOUT_MS)
    for index in range(count):
        box = await charts.nth(index).bounding_box()
        assert box is not None and box["width"] >= 100 and box["height"] >= 20, box


async def _no_marker(page: Page, where: str) -> None:
    """Neither the page's markup (attributes, text alternatives) nor its text has a marker."""
    html = await page.content()
    text = await page.locator("body").inner_text()
    for marker in MARKERS.values():
        assert marker not in html and marker not in text, (where, marker)


async def _live(person: Person) -> None:
    await expect(person.page.locator("html")).to_have_attribute("data-live", "ready",
                                                                timeout=TIMEOUT_MS)


async def test_progress_pages_draw_charts_sort_update_live_and_hide_the_text(
    widen: Widen,
) -> None:
    ada = await widen.person("Ada Owner")
    ben = await widen.person("Ben Editor")
    pat = await widen.person("Pat Manager")
    document_id, (intro, budget, _risks) = await ada.create_document("Harbour plan",
                                                                      list(MARKERS))
    other_id, _ = await ada.create_document("Annual summary", ["Only part"])
    base = f"/api/documents/{document_id}"
    await ada.api("PATCH", f"{base}/sections/{intro}", {"status": "done"})
    await ada.api("PATCH", f"{base}/sections/{budget}",
                  {"due_date": "2020-01-01", "assignee_id": ada.user["id"]})
    await ada.add_member(document_id, ben, "editor", "help")
    for doc in (document_id, other_id):
        await ada.add_member(doc, pat, "progress", "progress")

    await ada.open_document(document_id)
    for title, marker in MARKERS.items():
        await ada.type_in(title, f"The {title.lower()} mentions {marker} twice {marker}")
    await ada.open_document(other_id)
    await ada.type_in("Only part", "Short one")

    # --- the dashboard: a row per document, a sparkline in each, sortable
    await ada.goto("/progress")
    rows = ada.page.locator("#dashboard tbody tr")
    await expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    words = ada.page.locator(f'#dashboard tr[data-document-id="{document_id}"] .dash-words')
    await expect(words).to_have_text("18", timeout=TIMEOUT_MS)
    await expect(ada.page.locator(f'#dashboard tr[data-document-id="{other_id}"] .dash-words')
                 ).to_have_text("2", timeout=TIMEOUT_MS)
    await _charts_drawn(ada.page.locator("#dashboard .sparkline canvas"), 2)
    late = ada.page.locator(f'#dashboard tr[data-document-id="{document_id}"] .flag-late')
    await expect(late).to_be_visible()
    await expect(rows.first).to_have_attribute("data-document-id", other_id)  # by title
    await ada.page.locator('button[data-sort="words"]').click()
    await ada.page.locator('button[data-sort="words"]').click()  # most words first
    await expect(ada.page.locator('th:has(button[data-sort="words"])')).to_have_attribute(
        "aria-sort", "descending")
    await expect(rows.first).to_have_attribute("data-document-id", document_id)
    await ada.page.locator("#dashboard-filter").fill("annual")
    await expect(rows).to_have_count(1)
    await ada.page.locator("#dashboard-filter").fill("")
    await ada.page.locator("#dashboard-flagged").check()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-document-id", document_id)
    await ada.page.locator("#dashboard-flagged").uncheck()
    # The progress digest: weekly, the annual summary left out; both kept by the server.
    await ada.page.locator("#digest-frequency").select_option("weekly")
    await expect(ada.page.locator(".dashboard-controls [role=status]")).to_contain_text(
        "weekly", timeout=TIMEOUT_MS)
    await ada.page.locator(f'#dashboard tr[data-document-id="{other_id}"] .digest-include'
                           ).uncheck()
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        while (await ada.api("GET", "/api/progress/digest"))["left_out"] != [other_id]:
            await asyncio.sleep(0.1)
    assert (await ada.api("GET", "/api/progress/digest"))["frequency"] == "weekly"
    await ada.page.reload()
    await expect(ada.page.locator("#digest-frequency")).to_have_value("weekly",
                                                                     timeout=TIMEOUT_MS)
    await expect(ada.page.locator(f'#dashboard tr[data-document-id="{document_id}"] '
                                  ".digest-include")).to_be_checked(timeout=TIMEOUT_MS)
    await expect(ada.page.locator(f'#dashboard tr[data-document-id="{other_id}"] '
                                  ".digest-include")).not_to_be_checked()
    await _charts_drawn(ada.page.locator("#dashboard .sparkline canvas"), 2)
    await widen.screenshot(ada, "progress-dashboard.png", full_page=True)
    assert await widen.accessibility_problems(ada) == []

    # --- the document's progress page: its tables and both charts
    await ada.goto(f"/d/{document_id}/progress")
    await expect(ada.page.locator("#progress-sections tbody tr")).to_have_count(3,
                                                                               timeout=TIMEOUT_MS)
    await expect(ada.page.locator("#progress-words")).to_have_text("18")
    await _charts_drawn(ada.page.locator("figure.chart canvas"), 2)
    labels = await ada.page.locator('figure.chart [role="img"]').evaluate_all(
        "boxes => boxes.map(b => b.getAttribute('aria-label'))")
    assert labels[0].startswith("Words over time") and "All sections: 18 words" in labels[0]
    await expect(ada.page.locator("#progress-sections")).to_contain_text("Late")
    await expect(ada.page.locator("#progress-members")).to_contain_text("Ada Owner")
    await expect(ada.page.locator(".indicators")).to_contain_text("Gini coefficient")
    await widen.screenshot(ada, "progress-document.png", full_page=True)
    assert await widen.accessibility_problems(ada) == []

    # --- the progress member: every page they can open, no word of any section
    for path in ("/", "/progress", f"/d/{document_id}/progress", f"/d/{document_id}",
                 f"/d/{other_id}/progress", f"/d/{document_id}/timeline"):
        await pat.goto(path)
        await expect(pat.page.locator("h1")).to_be_visible(timeout=TIMEOUT_MS)
        await pat.page.wait_for_load_state("networkidle")
        await _no_marker(pat.page, path)
    await pat.goto(f"/d/{document_id}/progress")
    await _charts_drawn(pat.page.locator("figure.chart canvas"), 2)
    await widen.screenshot(pat, "progress-document-as-progress-member.png", full_page=True)

    # --- live: Ben types, Pat's page and Ada's dashboard move without a reload
    await expect(pat.page.locator("#progress-words")).to_have_text("18", timeout=TIMEOUT_MS)
    await _live(pat)
    await pat.page.evaluate("() => { window.notReloaded = true; }")
    await ada.goto("/progress")
    await _live(ada)
    await ada.page.evaluate("() => { window.notReloaded = true; }")
    await ben.open_document(document_id)
    await ben.type_in("Risks", " and three more")
    await expect(pat.page.locator("#progress-words")).to_have_text("21", timeout=TIMEOUT_MS)
    await expect(words).to_have_text("21", timeout=TIMEOUT_MS)
    assert await pat.page.evaluate("() => window.notReloaded === true")
    assert await ada.page.evaluate("() => window.notReloaded === true")
    await expect(pat.page.locator("#progress-members")).to_contain_text("Ben Editor")
    await _no_marker(pat.page, "after the live update")
