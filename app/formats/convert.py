"""The whole conversions, as they run in a worker process (`app.workers.TextWorkers`).

Each takes and returns plain picklable values: the document's updates in, a file out; a
file in, the new document's sections and its content as one Yjs update out. Reading a Y.Doc
into text and parsing a member's file both belong off the event loop and out of the server
process (DESIGN §3, "Bounded documents").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pycrdt import Doc, XmlFragment

from app.formats.docx_reader import import_docx
from app.formats.docx_writer import document_docx
from app.formats.from_ydoc import section_blocks
from app.formats.html import document_html
from app.formats.limits import ImportRefused, check_docx
from app.formats.markdown import (
    ImportedDocument,
    ImportedSection,
    document_markdown,
    import_markdown,
)
from app.formats.notes import ExportSection, SectionOutline, comment_line
from app.formats.to_ydoc import write_blocks
from crdt.attribution import surviving_chars, written_words

ExportFormat = Literal["md", "html", "docx"]

MEDIA_TYPES: dict[ExportFormat, str] = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def export_document(updates: list[bytes], title: str, outlines: list[SectionOutline],
                    fmt: ExportFormat) -> bytes:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    sections = [ExportSection(o.title, section_blocks(doc, o.root), o.comments)
                for o in outlines]
    if fmt == "md":
        text = document_markdown(title, [(s.title, s.blocks) for s in sections])
        if any(s.comments for s in sections):
            text += _markdown_comments(sections)
        return text.encode()
    if fmt == "html":
        return document_html(title, sections).encode()
    return document_docx(title, sections)


def _markdown_comments(sections: list[ExportSection]) -> str:
    """Comments go after the document, under an HTML comment per section, so that importing
    the file again brings back the text and not the comments as text."""
    lines = ["", "<!-- comments"]
    for section in sections:
        if section.comments:
            lines.append(f"{section.title}:")
            lines.extend("  - " + comment_line(n).replace("--", "—") for n in section.comments)
    lines.append("-->")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class ImportedSectionRow:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Imported:
    title: str
    sections: list[ImportedSectionRow]
    # The whole content as one update, written under `client_id`.
    update: bytes
    client_id: int
    # Its characters (UTF-16 units) and words per root, for the importer's attribution.
    chars: dict[str, int]
    words: dict[str, int]


def import_file(data: bytes, filename: str, max_unzipped: int) -> Imported:
    """A .docx or Markdown file as a new document's sections and content; raises
    `ImportRefused` for anything else, or anything unsafe."""
    stem, _, extension = filename.rpartition(".")
    extension = extension.lower() if stem else ""
    file_title = (stem or filename).strip()[:300] or "Imported"
    parsed: ImportedDocument
    if extension == "docx":
        check_docx(data, max_unzipped)
        parsed = import_docx(data, file_title)
    elif extension in ("md", "markdown", "txt"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRefused("malformed", "This Markdown file is not UTF-8 text") from exc
        parsed = import_markdown(text, file_title)
    else:
        raise ImportRefused("unsupported", "Only .docx and Markdown (.md) files can be "
                                           "imported")
    doc: Doc[Any] = Doc()
    rows = []
    with doc.transaction():
        for section in parsed.sections or [ImportedSection(file_title)]:
            row = ImportedSectionRow(str(uuid.uuid4()), section.title[:300])
            rows.append(row)
            write_blocks(doc.get(f"section:{row.id}", type=XmlFragment), section.blocks)
    update = doc.get_update()
    chars = {root: sum(counts.values()) for root, counts in surviving_chars(update).items()}
    return Imported((parsed.title or file_title)[:300], rows, update, doc.client_id, chars,
                    written_words(update))
