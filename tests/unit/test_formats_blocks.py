"""Sections to blocks and back, checked against y-prosemirror itself (the browser editor's
binding, in node): what the server reads is what the editor wrote, and what it writes the
editor reads as the same document. Markdown round trips keep the structure."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from app.formats.blocks import MAX_NESTING, Block, Heading, Paragraph, Quote, Text
from app.formats.from_ydoc import section_blocks
from app.formats.markdown import (
    blocks_markdown,
    document_markdown,
    import_markdown,
    read_markdown,
    section_markdown,
)
from app.formats.to_ydoc import write_blocks
from tests.support.prosemirror import read_sections, rich_section, write_sections


def _doc(update: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return doc


def _written(blocks: list[Block], root: str = "section:copy") -> bytes:
    doc: Doc[Any] = Doc()
    fragment = doc.get(root, type=XmlFragment)
    with doc.transaction():
        write_blocks(fragment, blocks)
    return doc.get_update()


def test_what_y_prosemirror_wrote_comes_back_to_the_editor_unchanged() -> None:
    sample = rich_section("alpha")
    blocks = section_blocks(_doc(write_sections({"section:a": sample})), "section:a")
    assert [type(b).__name__ for b in blocks][:4] == ["Heading", "Paragraph", "Heading",
                                                      "Paragraph"]
    back = read_sections(_written(blocks), ["section:copy"])["section:copy"]
    expected = read_sections(write_sections({"section:a": sample}), ["section:a"])["section:a"]
    assert back == expected
    assert back["content"][0] == {"type": "heading", "attrs": {"level": 1},
                                  "content": [{"type": "text", "text": "alpha overview"}]}


def test_a_section_reads_as_the_same_blocks_after_a_markdown_round_trip() -> None:
    blocks = section_blocks(_doc(write_sections({"section:a": rich_section("beta")})),
                            "section:a")
    _title, again = read_markdown(blocks_markdown(blocks))
    assert again == blocks


def test_a_document_round_trips_through_markdown_with_sections_and_shifted_headings() -> None:
    doc = _doc(write_sections({"section:a": rich_section("one"),
                               "section:b": rich_section("two")}))
    sections = [("First part", section_blocks(doc, "section:a")),
                ("Second *part*", section_blocks(doc, "section:b"))]
    text = document_markdown('A "quoted" title', sections)
    assert text.startswith('---\ntitle: "A \\"quoted\\" title"\n---\n\n# First part\n\n## one')
    imported = import_markdown(text, "file")
    assert imported.title == 'A "quoted" title'
    assert [(s.title, s.blocks) for s in imported.sections] == sections


def test_content_before_the_first_heading_goes_in_a_section_named_after_the_file() -> None:
    imported = import_markdown("Intro text\n\n# Real\n\nBody\n\n## Sub\n", "notes")
    assert [s.title for s in imported.sections] == ["notes", "Real"]
    intro, real = imported.sections
    assert intro.blocks == [Paragraph([Text("Intro text")])]
    assert real.blocks == [Paragraph([Text("Body")]), Heading(1, [Text("Sub")])]


def test_a_deep_tower_degrades_to_bounded_nesting_without_crashing() -> None:
    doc: Doc[Any] = Doc()
    fragment = doc.get("section:deep", type=XmlFragment)
    with doc.transaction():
        node: XmlFragment | XmlElement = fragment
        for _ in range(3000):
            node = node.children.append(XmlElement("blockquote"))
        paragraph = node.children.append(XmlElement("paragraph"))
        paragraph.children.append(XmlText("bottom"))
        fragment.children.append(XmlElement("mystery")).children.append(XmlText("kept"))
    blocks = section_blocks(doc, "section:deep")
    depth, block = 0, blocks[0]
    while isinstance(block, Quote):
        depth, block = depth + 1, block.blocks[0]
    assert depth == MAX_NESTING
    assert block == Paragraph([Text("bottom")])
    assert "kept" in section_markdown(doc, "section:deep")
    assert read_sections(_written(blocks), ["section:copy"])["section:copy"]["type"] == "doc"
