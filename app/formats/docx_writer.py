"""A document as a Word file (python-docx), in the styles other readers know.

The document title is the Title paragraph, each section title a Heading 1 and the section's
own headings one level lower (capped at 6, as in Markdown). Quotes use the built-in "Quote"
style, code the "Source Code" paragraph and "Verbatim Char" run styles (the names pandoc and
LibreOffice read as code), and every list gets its own numbering instance, so an ordered list
starts where its `start` says and two lists never run into one.
"""

from __future__ import annotations

import io

from docx import Document as new_document
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph as DocxParagraph

from app.formats.blocks import (
    Block,
    CodeBlock,
    HardBreak,
    Heading,
    Inline,
    OrderedList,
    Paragraph,
    Quote,
    Rule,
    merged,
)
from app.formats.html import safe_href
from app.formats.notes import ExportSection, comment_line

CODE_PARAGRAPH = "Source Code"
CODE_RUN = "Verbatim Char"
_LIST_INDENT_TWIPS = 720


def document_docx(title: str, sections: list[ExportSection]) -> bytes:
    doc = new_document()
    _add_code_styles(doc)
    lists = _Numbering(doc)
    doc.add_paragraph(title, style="Title")
    for section in sections:
        doc.add_paragraph(section.title, style="Heading 1")
        for block in section.blocks:
            _block(doc, lists, block, quote=False, level=-1)
        if section.comments:
            doc.add_paragraph("Comments", style="Heading 6")
            for note in section.comments:
                doc.add_paragraph(comment_line(note), style="List Bullet")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _add_code_styles(doc: Document) -> None:
    paragraph = doc.styles.add_style(CODE_PARAGRAPH, WD_STYLE_TYPE.PARAGRAPH)
    paragraph.base_style = doc.styles["Normal"]
    run = doc.styles.add_style(CODE_RUN, WD_STYLE_TYPE.CHARACTER)
    for style in (paragraph, run):
        style.font.name = "Courier New"
        style.font.size = Pt(10)


class _Numbering:
    """One `w:num` per list, over two abstract definitions (bullets, decimals) of 9 levels."""

    def __init__(self, doc: Document) -> None:
        self._numbering = doc.part.numbering_part.element
        self._next_abstract = 9000
        self._next_num = 9000
        self._bullet = self._abstract("bullet")
        self._decimal = self._abstract("decimal")

    def _abstract(self, fmt: str) -> int:
        abstract_id = self._next_abstract
        self._next_abstract += 1
        abstract = OxmlElement("w:abstractNum")
        abstract.set(qn("w:abstractNumId"), str(abstract_id))
        for level in range(9):
            lvl = OxmlElement("w:lvl")
            lvl.set(qn("w:ilvl"), str(level))
            for tag, value in (("w:start", "1"), ("w:numFmt", fmt),
                               ("w:lvlText", "•" if fmt == "bullet" else f"%{level + 1}."),
                               ("w:lvlJc", "left")):
                child = OxmlElement(tag)
                child.set(qn("w:val"), value)
                lvl.append(child)
            ppr, ind = OxmlElement("w:pPr"), OxmlElement("w:ind")
            ind.set(qn("w:left"), str(_LIST_INDENT_TWIPS * (level + 1)))
            ind.set(qn("w:hanging"), "360")
            ppr.append(ind)
            lvl.append(ppr)
            abstract.append(lvl)
        # Abstract definitions come before every w:num in the part.
        first_num = self._numbering.find(qn("w:num"))
        if first_num is None:
            self._numbering.append(abstract)
        else:
            first_num.addprevious(abstract)
        return abstract_id

    def new_list(self, ordered: bool, start: int) -> int:
        num_id = self._next_num
        self._next_num += 1
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), str(num_id))
        abstract = OxmlElement("w:abstractNumId")
        abstract.set(qn("w:val"), str(self._decimal if ordered else self._bullet))
        num.append(abstract)
        for level in range(9):
            override, start_at = OxmlElement("w:lvlOverride"), OxmlElement("w:startOverride")
            override.set(qn("w:ilvl"), str(level))
            start_at.set(qn("w:val"), str(start if level == 0 else 1))
            override.append(start_at)
            num.append(override)
        self._numbering.append(num)
        return num_id


def _number(paragraph: DocxParagraph, num_id: int, level: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    numpr, ilvl, numid = OxmlElement("w:numPr"), OxmlElement("w:ilvl"), OxmlElement("w:numId")
    ilvl.set(qn("w:val"), str(min(level, 8)))
    numid.set(qn("w:val"), str(num_id))
    numpr.append(ilvl)
    numpr.append(numid)
    ppr.append(numpr)


def _indent(paragraph: DocxParagraph, level: int) -> None:
    if level >= 0:
        paragraph.paragraph_format.left_indent = Pt(36 * (level + 1))


def _block(doc: Document, lists: _Numbering, block: Block, *, quote: bool, level: int) -> None:
    """`level`: the list level the block sits in (-1: none). Bounded recursion: blocks nest
    at most `MAX_NESTING` deep."""
    if isinstance(block, Paragraph | Heading):
        style = ("Quote" if quote else None) if isinstance(block, Paragraph) else (
            f"Heading {min(6, block.level + 1)}")
        paragraph = doc.add_paragraph(style=style)
        _inlines(doc, paragraph, block.inlines)
        _indent(paragraph, level)
    elif isinstance(block, CodeBlock):
        for line in block.text.split("\n"):
            paragraph = doc.add_paragraph(style=CODE_PARAGRAPH)
            if line:
                paragraph.add_run(line)
            _indent(paragraph, level)
    elif isinstance(block, Rule):
        _rule(doc.add_paragraph())
    elif isinstance(block, Quote):
        for child in block.blocks:
            _block(doc, lists, child, quote=True, level=level)
    else:
        num_id = lists.new_list(isinstance(block, OrderedList),
                                block.start if isinstance(block, OrderedList) else 1)
        for item in block.items:
            for index, child in enumerate(item.blocks):
                before = len(doc.paragraphs)
                _block(doc, lists, child, quote=quote, level=level + 1)
                if index == 0 and isinstance(child, Paragraph) and len(doc.paragraphs) > before:
                    numbered = doc.paragraphs[before]
                    numbered.paragraph_format.left_indent = None
                    numbered.style = doc.styles["List Paragraph"]
                    _number(numbered, num_id, level + 1)


def _rule(paragraph: DocxParagraph) -> None:
    border, bottom = OxmlElement("w:pBdr"), OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"),
                       ("w:color", "auto")):
        bottom.set(qn(key), value)
    border.append(bottom)
    paragraph._p.get_or_add_pPr().append(border)


def _inlines(doc: Document, paragraph: DocxParagraph, inlines: list[Inline]) -> None:
    for inline in merged(inlines):
        if isinstance(inline, HardBreak):
            paragraph.add_run().add_break()
            continue
        kinds = {m.kind for m in inline.marks}
        link = next((safe_href(m.href) for m in inline.marks if m.kind == "link"), None)
        lines = inline.text.split("\n")
        container = _hyperlink(doc, paragraph, link) if link else None
        for index, line in enumerate(lines):
            run = (container or paragraph).add_run(line)
            run.bold = "strong" in kinds or None
            run.italic = "em" in kinds or None
            if "code" in kinds:
                run.style = doc.styles[CODE_RUN]
            if index < len(lines) - 1:
                run.add_break()


def _hyperlink(doc: Document, paragraph: DocxParagraph, href: str) -> DocxParagraph:
    """A `w:hyperlink` to `href` appended to the paragraph; its runs go through a
    paragraph-like wrapper so python-docx's Run API applies to them."""
    rel_id = doc.part.relate_to(href, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    paragraph._p.append(link)
    return DocxParagraph(link, paragraph._parent)
