"""A Word file read into a document's sections (python-docx), after `limits.check_docx`.

Heading 1 starts a section titled by it; what comes before the first goes in a section named
after the file; deeper headings move one level up (the reverse of the writer). The Title
paragraph names the document. Lists come from each paragraph's numbering (its own or its
style's) and level; quotes from the Quote-like styles; code from the code styles or a
monospace font. Tables and other content keep their text as paragraphs.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from docx import Document as open_document
from docx.document import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.hyperlink import Hyperlink
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run

from app.formats.blocks import (
    MAX_NESTING,
    Block,
    BulletList,
    CodeBlock,
    HardBreak,
    Heading,
    Inline,
    ListItem,
    Mark,
    OrderedList,
    Paragraph,
    Quote,
    Rule,
    Text,
    merged,
    sorted_marks,
)
from app.formats.limits import ImportRefused
from app.formats.markdown import ImportedDocument, split_sections

_QUOTE_STYLES = {"quote", "intense quote", "block text", "block quote", "block quotation"}
_CODE_STYLES = {"source code", "html preformatted", "code", "macro"}
_CODE_RUN_STYLES = {"verbatim char", "source code char", "html code", "code char"}
_MONOSPACE = {"courier new", "courier", "consolas", "menlo", "monaco", "dejavu sans mono",
              "liberation mono", "source code pro", "lucida console"}


def import_docx(data: bytes, file_title: str) -> ImportedDocument:
    try:
        doc = open_document(io.BytesIO(data))
        title, blocks = _read(doc)
    # lxml's parse errors are SyntaxErrors.
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError,
            SyntaxError) as exc:
        raise ImportRefused("malformed", "This .docx file could not be read: it is damaged "
                                         "or not a Word document") from exc
    return ImportedDocument(title, split_sections(blocks, file_title))


def _paragraphs(doc: Document) -> Iterator[DocxParagraph]:
    """Body paragraphs in order, a table's cells read row by row as paragraphs."""
    for item in doc.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                for cell in row.cells:
                    yield from cell.paragraphs
        else:
            yield item


class _Lists:
    """Open lists by level, as numbered paragraphs arrive one after another."""

    def __init__(self, blocks: list[Block]) -> None:
        self._blocks = blocks
        self._open: list[tuple[int, BulletList | OrderedList]] = []

    def close(self) -> None:
        self._open.clear()

    def item(self, level: int, ordered: bool, start: int, paragraph: Paragraph) -> None:
        while self._open and self._open[-1][0] > level:
            self._open.pop()
        if self._open and self._open[-1][0] == level and (
                isinstance(self._open[-1][1], OrderedList) != ordered):
            self._open.pop()
        if not self._open or self._open[-1][0] < level:
            listing: BulletList | OrderedList = (OrderedList(start=start) if ordered
                                                 else BulletList())
            if self._open and self._open[-1][1].items and len(self._open) < MAX_NESTING:
                self._open[-1][1].items[-1].blocks.append(listing)
            else:
                self._blocks.append(listing)
                self._open.clear()
            self._open.append((level, listing))
        self._open[-1][1].items.append(ListItem([paragraph]))


def _read(doc: Document) -> tuple[str | None, list[Block]]:
    formats = _numbering_formats(doc)
    blocks: list[Block] = []
    lists = _Lists(blocks)
    title: str | None = None
    for paragraph in _paragraphs(doc):
        style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
        numbering = _numbering(paragraph, formats)
        if style == "title" and title is None:
            title = paragraph.text.strip() or None
            continue
        if style.startswith("heading ") and style[8:].isdigit():
            lists.close()
            blocks.append(Heading(max(1, min(6, int(style[8:]))), _inlines(paragraph)))
        elif numbering is not None or style.startswith(("list bullet", "list number")):
            level, ordered, start = numbering or (_style_level(style), "number" in style, 1)
            lists.item(level, ordered, start, Paragraph(_inlines(paragraph)))
        elif style in _CODE_STYLES:
            lists.close()
            last = blocks[-1] if blocks else None
            if isinstance(last, CodeBlock):
                last.text += "\n" + paragraph.text
            else:
                blocks.append(CodeBlock(paragraph.text))
        elif style in _QUOTE_STYLES:
            lists.close()
            last = blocks[-1] if blocks else None
            if not isinstance(last, Quote):
                last = Quote()
                blocks.append(last)
            last.blocks.append(Paragraph(_inlines(paragraph)))
        elif not paragraph.text and _has_bottom_border(paragraph):
            lists.close()
            blocks.append(Rule())
        else:
            lists.close()
            blocks.append(Paragraph(_inlines(paragraph)))
    return title, blocks


def _has_bottom_border(paragraph: DocxParagraph) -> bool:
    ppr = paragraph._p.pPr
    borders = ppr.find(qn("w:pBdr")) if ppr is not None else None
    return borders is not None and borders.find(qn("w:bottom")) is not None


def _style_level(style: str) -> int:
    last = style.rsplit(" ", 1)[-1]
    return int(last) - 1 if last.isdigit() else 0


_Formats = dict[str, dict[int, tuple[str, int]]]


def _numbering_formats(doc: Document) -> _Formats:
    """numId -> level -> (numFmt: "bullet", "decimal"..., start), from the numbering part."""
    try:
        numbering = doc.part.numbering_part.element
    except (KeyError, NotImplementedError):
        return {}
    abstracts: _Formats = {}
    for abstract in numbering.findall(qn("w:abstractNum")):
        levels = {}
        for lvl in abstract.findall(qn("w:lvl")):
            fmt = lvl.find(qn("w:numFmt"))
            ilvl = lvl.get(qn("w:ilvl"), "0")
            if ilvl.isdigit():
                levels[int(ilvl)] = (fmt.get(qn("w:val"), "decimal") if fmt is not None else "",
                                     _int_val(lvl.find(qn("w:start"))))
        abstracts[abstract.get(qn("w:abstractNumId"), "")] = levels
    formats: _Formats = {}
    for num in numbering.findall(qn("w:num")):
        ref = num.find(qn("w:abstractNumId"))
        if ref is None:
            continue
        levels = dict(abstracts.get(ref.get(qn("w:val"), ""), {}))
        for override in num.findall(qn("w:lvlOverride")):
            ilvl = override.get(qn("w:ilvl"), "0")
            start = override.find(qn("w:startOverride"))
            if ilvl.isdigit() and start is not None:
                fmt = levels.get(int(ilvl), ("decimal", 1))[0]
                levels[int(ilvl)] = (fmt, _int_val(start))
        formats[num.get(qn("w:numId"), "")] = levels
    return formats


def _int_val(element: Any) -> int:
    value = element.get(qn("w:val"), "1") if element is not None else "1"
    return max(1, int(value)) if value.isdigit() else 1


def _numbering(paragraph: DocxParagraph, formats: _Formats) -> tuple[int, bool, int] | None:
    """(level, ordered, start) of a numbered paragraph, from its own numbering or its style's."""
    numpr = None
    ppr = paragraph._p.pPr
    if ppr is not None:
        numpr = ppr.find(qn("w:numPr"))
    style = paragraph.style
    while numpr is None and style is not None:
        style_ppr = style.element.find(qn("w:pPr"))
        numpr = style_ppr.find(qn("w:numPr")) if style_ppr is not None else None
        style = style.base_style
    if numpr is None:
        return None
    num_id = numpr.find(qn("w:numId"))
    ilvl = numpr.find(qn("w:ilvl"))
    num = num_id.get(qn("w:val"), "0") if num_id is not None else "0"
    if num == "0":  # numbering explicitly removed
        return None
    raw_level = ilvl.get(qn("w:val"), "0") if ilvl is not None else "0"
    level = int(raw_level) if raw_level.isdigit() else 0
    fmt, start = formats.get(num, {}).get(level, ("decimal", 1))
    return min(level, 8), fmt not in ("bullet", "none", ""), start


def _inlines(paragraph: DocxParagraph) -> list[Inline]:
    out: list[Inline] = []
    for item in paragraph.iter_inner_content():
        if isinstance(item, Hyperlink):
            href = item.address
            link = [Mark("link", href)] if href else []
            for run in item.runs:
                _run(run, link, out)
        else:
            _run(item, [], out)
    return merged(out)


def _run(run: Run, extra: list[Mark], out: list[Inline]) -> None:
    marks = list(extra)
    if run.bold:
        marks.append(Mark("strong"))
    if run.italic:
        marks.append(Mark("em"))
    style = (run.style.name or "").lower() if run.style is not None else ""
    font = (run.font.name or "").lower()
    if style in _CODE_RUN_STYLES or font in _MONOSPACE:
        marks.append(Mark("code"))
    for index, line in enumerate(run.text.split("\n")):
        if index:
            out.append(HardBreak())
        if line:
            out.append(Text(line.replace("\t", " "), sorted_marks(marks)))
