"""y-prosemirror, the browser editor's binding, run in node (tests/js/prosemirror.mjs): the
independent reader and writer of sections that the server's own formats code is checked
against. Also one rich sample section holding every structure the editor's schema has."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.support.jsclient import JS_DIR

SCRIPT = JS_DIR / "prosemirror.mjs"


def _run(request: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(["node", str(SCRIPT)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"prosemirror.mjs failed: {proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def read_sections(update: bytes, roots: list[str]) -> dict[str, Any]:
    """Each root as the editor's ProseMirror JSON (checked against its schema), or an
    `error: ...` string where the editor could not take it."""
    return _run({"read": update.hex(), "roots": roots})


def write_sections(docs: dict[str, dict[str, Any]]) -> bytes:
    """A Y.Doc update in which y-prosemirror wrote each root's ProseMirror document."""
    return bytes.fromhex(_run({"write": docs})["update"])


def _text(text: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = list(marks)
    return node


def _para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


STRONG = {"type": "strong"}
EM = {"type": "em"}
CODE = {"type": "code"}


def link(href: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": href, "title": None}}


def rich_section(word: str) -> dict[str, Any]:
    """A ProseMirror doc with every node and mark of the schema, marks on whole words (as
    Markdown writes them); `word` makes two sections tell apart."""
    return {"type": "doc", "content": [
        {"type": "heading", "attrs": {"level": 1}, "content": [_text(f"{word} overview")]},
        _para(_text("Plain then "), _text("strong", STRONG), _text(" and "),
              _text("emphasis", EM), _text(" and "), _text("both", STRONG, EM),
              _text(", code "), _text("x < y", CODE), _text(", a "),
              _text("link", link(f"https://example.org/{word}?a=1&b=2")), _text(".")),
        {"type": "heading", "attrs": {"level": 2}, "content": [_text("Details "),
                                                               _text("matter", EM)]},
        _para(_text("Line one"), {"type": "hard_break"}, _text("line two <b>not bold</b>")),
        {"type": "blockquote", "content": [_para(_text(f"Quoted {word}"))]},
        {"type": "code_block", "content": [_text("def f(x):\n    return x * 2")]},
        {"type": "horizontal_rule"},
        {"type": "bullet_list", "content": [
            {"type": "list_item", "content": [_para(_text("bullet one")), {
                "type": "ordered_list", "attrs": {"order": 1}, "content": [
                    {"type": "list_item", "content": [_para(_text("nested first"))]},
                    {"type": "list_item", "content": [_para(_text("nested second"))]}]}]},
            {"type": "list_item", "content": [_para(_text("bullet two", STRONG))]}]},
        {"type": "ordered_list", "attrs": {"order": 3}, "content": [
            {"type": "list_item", "content": [_para(_text("third"))]},
            {"type": "list_item", "content": [_para(_text("fourth"))]}]},
        {"type": "heading", "attrs": {"level": 3}, "content": [_text("Small heading")]},
        _para(_text("The end of "), _text(word, STRONG), _text(".")),
    ]}
