"""Export and import (issue 10): a Word export read back by pandoc has the document's
structure; a Markdown export imported again is the same document, section by section; HTML
is escaped; bad, encrypted, oversized and zip-bomb files are refused with a clear 4xx and
create nothing; only those who read the text export; slow conversions become jobs."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pycrdt import create_update_message

from app.formats.from_ydoc import section_blocks
from tests.support.api import Api
from tests.support.events import EventClient
from tests.support.prosemirror import read_sections, rich_section, write_sections
from tests.support.server import ServerProcess
from tests.support.sharing import connect, share

pytestmark = pytest.mark.shared_server


async def _section(api: Api, document_id: str, title: str) -> str:
    response = await api.http.post(f"/api/documents/{document_id}/sections",
                                   json={"title": title})
    assert response.status_code == 201, response.text
    return f"section:{response.json()['id']}"


async def _write(server: ServerProcess, api: Api, document_id: str, update: bytes) -> None:
    """Send what y-prosemirror wrote, and wait until another client of the document has it
    (the server relays an edit once it is stored)."""
    writer = await connect(server, api, document_id)
    watcher = await connect(server, api, document_id)
    try:
        before = writer.doc.get_state()
        writer.doc.apply_update(update)
        await writer.send(create_update_message(writer.doc.get_update(before)))
        await watcher.wait_for(lambda: watcher.doc.get_state() == writer.doc.get_state())
    finally:
        await writer.close()
        await watcher.close()


async def _rich_document(server: ServerProcess, api: Api) -> tuple[str, list[str]]:
    """A document of two sections, "Budget" and "Methods", each with every structure."""
    document_id = await api.create_document("Quarterly report")
    roots = [await _section(api, document_id, "Budget"),
             await _section(api, document_id, "Methods")]
    await _write(server, api, document_id, write_sections(
        {roots[0]: rich_section("one"), roots[1]: rich_section("two")}))
    return document_id, roots


async def _blocks(server: ServerProcess, api: Api, document_id: str) -> list[tuple[str, Any]]:
    """(title, blocks) of each section, read from a live connection to the document."""
    sections = (await api.http.get(f"/api/documents/{document_id}/sections")).json()
    client = await connect(server, api, document_id)
    try:
        return [(s["title"], section_blocks(client.doc, f"section:{s['id']}")) for s in sections]
    finally:
        await client.close()


async def _export(api: Api, document_id: str, fmt: str, **params: str) -> httpx.Response:
    return await api.http.get(f"/api/documents/{document_id}/export",
                              params={"format": fmt, **params})


async def _import(api: Api, name: str, content: bytes) -> httpx.Response:
    return await api.http.post("/api/documents/import", files={"file": (name, content)})


async def _document_count(api: Api) -> int:
    return len((await api.http.get("/api/documents")).json())


def _pandoc(docx: bytes) -> dict[str, Any]:
    proc = subprocess.run(["pandoc", "-f", "docx", "-t", "json"], input=docx,
                          capture_output=True, check=True, timeout=60)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every pandoc AST element (a dict with `t`), in document order, iteratively."""
    out, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "t" in item:
                out.append(item)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return out


def _words(inlines: list[Any]) -> str:
    return "".join(e["c"] if e["t"] == "Str" else " " for e in _walk(inlines)
                   if e["t"] in ("Str", "Space"))


async def test_a_docx_export_has_the_document_structure_for_pandoc(
        live_server: ServerProcess) -> None:
    async with Api(live_server.base_url) as owner:
        await owner.sign_up()
        document_id, _ = await _rich_document(live_server, owner)
        response = await _export(owner, document_id, "docx")
        assert response.status_code == 200, response.text
        assert 'filename="Quarterly report.docx"' in response.headers["content-disposition"]
        ast = _pandoc(response.content)
    elements = _walk(ast["blocks"])
    headers = [(e["c"][0], _words(e["c"][2])) for e in elements if e["t"] == "Header"]
    expected_section = [(2, "{} overview"), (3, "Details matter"), (4, "Small heading")]
    assert headers == ([(1, "Budget")] + [(n, t.format("one")) for n, t in expected_section]
                       + [(1, "Methods")] + [(n, t.format("two")) for n, t in expected_section])
    kinds = [e["t"] for e in elements]
    for kind in ("Para", "BulletList", "OrderedList", "BlockQuote", "CodeBlock", "Strong",
                 "Emph", "Code", "Link", "LineBreak"):
        assert kind in kinds, kind
    bullets = [e for e in elements if e["t"] == "BulletList"]
    assert len(bullets) == 2 and all(len(b["c"]) == 2 for b in bullets)  # two items each
    ordered = [e for e in elements if e["t"] == "OrderedList"]
    # Per section: the nested list (from 1) inside the first bullet, then the list from 3.
    assert [(o["c"][0][0], len(o["c"][1])) for o in ordered] == [(1, 2), (3, 2)] * 2
    nested_in_bullet = _walk(bullets[0]["c"][0])
    assert any(e["t"] == "OrderedList" for e in nested_in_bullet)
    links = [e["c"][2][0] for e in elements if e["t"] == "Link"]
    assert links == ["https://example.org/one?a=1&b=2", "https://example.org/two?a=1&b=2"]
    assert [e["c"] for e in elements if e["t"] == "Code"][0][1] == "x < y"
    assert [e["c"][1] for e in elements if e["t"] == "CodeBlock"] == [
        "def f(x):\n    return x * 2"] * 2
    quotes = [_words(q["c"]) for q in elements if q["t"] == "BlockQuote"]
    assert quotes == ["Quoted one", "Quoted two"]
    strong = [_words(e["c"]) for e in elements if e["t"] == "Strong"]
    assert "strong" in strong and "bullet two" in strong and "one" in strong
    assert "emphasis" in [_words(e["c"]) for e in elements if e["t"] == "Emph"]


async def test_a_markdown_export_imports_as_the_same_document(
        live_server: ServerProcess) -> None:
    async with Api(live_server.base_url) as owner:
        await owner.sign_up()
        document_id, _ = await _rich_document(live_server, owner)
        exported = await _export(owner, document_id, "md")
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("text/markdown")
        assert exported.text.startswith('---\ntitle: "Quarterly report"\n---\n\n# Budget\n')
        imported = await _import(owner, "report.md", exported.content)
        assert imported.status_code == 201, imported.text
        copy = imported.json()
        assert copy["title"] == "Quarterly report" and copy["role"] == "owner"
        assert copy["members"] == 0  # private
        original = await _blocks(live_server, owner, document_id)
        again = await _blocks(live_server, owner, copy["id"])
        assert [t for t, _ in again] == ["Budget", "Methods"]
        assert again == original
        # And the browser's editor reads the imported sections as what was exported.
        client = await connect(live_server, owner, copy["id"])
        try:
            roots = [r for r in client.doc.keys() if r.startswith("section:")]  # noqa: SIM118
            pm = read_sections(client.doc.get_update(), roots)
        finally:
            await client.close()
        assert all(isinstance(v, dict) for v in pm.values()), pm
        assert sorted(v["content"][0]["content"][0]["text"] for v in pm.values()) == [
            "one overview", "two overview"]


async def test_a_word_file_imports_into_sections_split_at_heading_1(
        live_server: ServerProcess) -> None:
    async with Api(live_server.base_url) as owner:
        await owner.sign_up()
        document_id, _ = await _rich_document(live_server, owner)
        docx = (await _export(owner, document_id, "docx")).content
        imported = await _import(owner, "report.docx", docx)
        assert imported.status_code == 201, imported.text
        assert imported.json()["title"] == "Quarterly report"
        original = await _blocks(live_server, owner, document_id)
        again = await _blocks(live_server, owner, imported.json()["id"])
        assert again == original


async def test_html_is_a_complete_escaped_page(live_server: ServerProcess) -> None:
    async with Api(live_server.base_url) as owner:
        await owner.sign_up()
        document_id = await owner.create_document("<i>Tags</i> & more")
        root = await _section(owner, document_id, "<script>alert(1)</script>")
        pm = rich_section("one")
        pm["content"].append({"type": "paragraph", "content": [
            {"type": "text", "text": "bad link", "marks": [
                {"type": "link", "attrs": {"href": "javascript:alert(1)", "title": None}}]}]})
        await _write(live_server, owner, document_id, write_sections({root: pm}))
        response = await _export(owner, document_id, "html")
    assert response.status_code == 200
    page = response.text
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>&lt;i&gt;Tags&lt;/i&gt; &amp; more</title>" in page
    assert "<h2>&lt;script&gt;alert(1)&lt;/script&gt;</h2>" in page
    assert "<script" not in page and "<b>" not in page and "javascript:" not in page
    assert "line two &lt;b&gt;not bold&lt;/b&gt;" in page
    for markup in ("<h3>one overview</h3>", "<strong>strong</strong>", "<em>emphasis</em>",
                   "<code>x &lt; y</code>", '<a href="https://example.org/one?a=1&amp;b=2">',
                   "<blockquote>", '<ol start="3">', "<ul>", "<pre><code>def f(x):", "<hr>",
                   "Line one<br>line two"):
        assert markup in page, markup


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _lying_zip(real_size: int) -> bytes:
    """A zip whose one member declares 100 bytes and inflates to `real_size`."""
    data = bytearray(_zip({"word/document.xml": b"\0" * real_size}))
    declared = real_size.to_bytes(4, "little")
    for _ in range(2):  # local header and central directory entry
        at = data.index(declared)
        data[at:at + 4] = (100).to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize(("name", "content", "status", "code"), [
    ("broken.docx", b"PK\x03\x04 this is not really a zip", 422, "malformed"),
    ("noise.docx", bytes(range(256)) * 40, 422, "malformed"),
    ("empty-zip.docx", _zip({"hello.txt": b"hi"}), 422, "malformed"),
    ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, 422, "encrypted"),
    ("bomb.docx", _zip({"word/document.xml": b"\0" * (60 * 1024 * 1024)}), 413, "too-big"),
    # Inflating stops at the declared size; the checksum then fails.
    ("liar.docx", _lying_zip(2 * 1024 * 1024), 422, "malformed"),
    ("huge.md", b"a" * (10 * 1024 * 1024 + 1), 413, "too-big"),
    ("picture.png", b"\x89PNG\r\n", 415, "unsupported"),
    ("latin1.md", "caf\xe9".encode("latin-1"), 422, "malformed"),
])
async def test_a_bad_file_is_refused_clearly_and_creates_nothing(
        live_server: ServerProcess, name: str, content: bytes, status: int, code: str) -> None:
    async with Api(live_server.base_url) as owner:
        await owner.sign_up()
        await owner.create_document("Already here")
        before = await _document_count(owner)
        response = await _import(owner, name, content)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["code"] == code and len(body["detail"]) > 20, body
        assert await _document_count(owner) == before


async def test_only_readers_of_the_text_export(live_server: ServerProcess) -> None:
    async with (Api(live_server.base_url) as owner, Api(live_server.base_url) as follower,
                Api(live_server.base_url) as viewer, Api(live_server.base_url) as stranger):
        for api in (owner, follower, viewer, stranger):
            await api.sign_up()
        shared = await share(live_server, owner, follower, "progress")
        await shared.owner.close()
        invited = await share(live_server, owner, viewer, "viewer")
        await invited.owner.close()
        refused = await _export(follower, shared.document_id, "md")
        assert refused.status_code == 403 and refused.json()["code"] == "progress-only"
        assert (await _export(stranger, shared.document_id, "docx")).status_code == 404
        assert (await _export(stranger, "no-such-document", "md")).status_code == 404
        allowed = await _export(viewer, invited.document_id, "md")
        assert allowed.status_code == 200 and "alpha" in allowed.text
        assert (await _export(viewer, invited.document_id, "pdf")).status_code == 422


async def test_comments_come_with_the_export_when_asked(live_server: ServerProcess) -> None:
    async with Api(live_server.base_url) as owner:
        await owner.sign_up(name="Olga Owner")
        document_id, roots = await _rich_document(live_server, owner)
        section_id = roots[0].removeprefix("section:")
        made = await owner.http.post(f"/api/documents/{document_id}/comments", json={
            "section_id": section_id, "body": "Check these figures", "quote": "strong",
            "anchor": {"start": base64.b64encode(b"\x00").decode(),
                       "end": base64.b64encode(b"\x00").decode()}})
        assert made.status_code == 201, made.text
        plain = await _export(owner, document_id, "html")
        with_comments = await _export(owner, document_id, "html", comments="1")
        word = _pandoc((await _export(owner, document_id, "docx", comments="1")).content)
        markdown = await _export(owner, document_id, "md", comments="1")
        assert "Olga Owner: Check these figures" in markdown.text
        # Imported again, the comments (an HTML comment in Markdown) do not become text.
        copy = (await _import(owner, "with-comments.md", markdown.content)).json()["id"]
        assert await _blocks(live_server, owner, copy) == await _blocks(live_server, owner,
                                                                         document_id)
    assert "Check these figures" not in plain.text
    assert "Olga Owner: Check these figures" in with_comments.text
    assert "Check these figures" in _words(word["blocks"])


async def test_a_slow_conversion_answers_202_and_is_followed_as_a_job(
        start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(job_answer_seconds="0")
    async with Api(server.base_url) as owner:
        await owner.sign_up()
        events = await EventClient(server, owner.token).connect()
        try:
            document_id, _ = await _rich_document(server, owner)
            started = await _export(owner, document_id, "md")
            assert started.status_code == 202, started.text
            job_id = started.json()["job_id"]
            ended = await events.wait_for(
                lambda e: e["type"] == "job" and e["job"]["id"] == job_id
                and e["job"]["state"] == "done")
            assert ended is not None
            job = (await owner.http.get(f"/api/jobs/{job_id}")).json()
            assert job == ended["job"] and job["document_id"] == document_id
            file = await owner.http.get(job["file_url"])
            assert file.status_code == 200 and file.text.startswith('---\ntitle: "Quarterly')

            imported = await _import(owner, "copy.md", file.content)
            assert imported.status_code == 202, imported.text
            import_job = imported.json()["job_id"]
            done = await events.wait_for(
                lambda e: e["type"] == "job" and e["job"]["id"] == import_job
                and e["job"]["state"] != "running")
            assert done is not None and done["job"]["state"] == "done"
            assert await _blocks(server, owner, done["job"]["document_id"]) == await _blocks(
                server, owner, document_id)

            refused = await _import(owner, "locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
            failed_id = refused.json()["job_id"]
            failed = await events.wait_for(
                lambda e: e["type"] == "job" and e["job"]["id"] == failed_id
                and e["job"]["state"] != "running")
            assert failed is not None and failed["job"]["state"] == "failed"
            assert failed["job"]["status_code"] == 422 and failed["job"]["code"] == "encrypted"
        finally:
            await events.close()
        async with Api(server.base_url) as other:
            await other.sign_up()
            assert (await other.http.get(f"/api/jobs/{job_id}")).status_code == 404
