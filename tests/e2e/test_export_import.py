"""Export and import in the browser (issue 10): the Export menu downloads the document as a
file; Import on the home page turns a Markdown file into a new document that opens in the
editor with its sections and formatting; a refused file says why on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import FilePayload, expect

from tests.e2e.conftest import Widen

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLAN = b"""---
title: "Imported plan"
---

# Alpha

Some **bold** words and a [link](https://example.org/).

## Detail

- first
- second

# Beta

> A quoted line
"""


async def test_export_menu_downloads_and_import_opens_a_new_document(
        widen: Widen, tmp_path: Path) -> None:
    ada = await widen.person("Ada Lovelace")
    document_id, _ = await ada.create_document("Field notes", ["Intro", "Methods"])
    await ada.open_document(document_id)
    await ada.type_in("Intro", "Hello export")
    await expect(ada.editor("Intro")).to_contain_text("Hello export")
    page = ada.page

    await page.locator("#export-button").click()
    async with page.expect_download() as download_info:
        await page.locator("#export-md").click()
    download = await download_info.value
    assert download.suggested_filename == "Field notes.md"
    saved = tmp_path / "export.md"
    await download.save_as(saved)
    text = saved.read_text()
    assert "# Intro" in text and "Hello export" in text and "# Methods" in text
    await expect(page.locator("#export-status")).to_contain_text("Downloaded Field notes.md")

    async with page.expect_download() as word_info:
        await page.locator("#export-docx").click()
    assert (await word_info.value).suggested_filename == "Field notes.docx"

    await ada.goto("/")
    await page.locator("#import-file").set_input_files(
        files=FilePayload(name="locked.docx", mimeType="application/octet-stream",
                          buffer=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512))
    await expect(page.locator("#import-error")).to_contain_text("password-protected")

    await page.locator("#import-file").set_input_files(
        files=FilePayload(name="plan.md", mimeType="text/markdown", buffer=PLAN))
    await expect(page).to_have_url(re.compile(r"#/d/"))
    await ada.wait_connected()
    await expect(page.locator("#doc-title")).to_have_text("Imported plan")
    await expect(ada.editor("Alpha").locator("strong")).to_have_text("bold")
    await expect(ada.editor("Alpha").locator("h1")).to_have_text("Detail")
    await expect(ada.editor("Alpha").locator("li")).to_have_count(2)
    await expect(ada.editor("Beta").locator("blockquote")).to_contain_text("A quoted line")
    await widen.screenshot(ada, "imported-document.png")
    assert widen.errors == []
