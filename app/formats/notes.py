"""What an export needs of a document besides its Y.Doc: titles and, optionally, comments.

Plain picklable values, handed to a worker process with the document's updates."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.formats.blocks import Block


@dataclass(frozen=True, slots=True)
class CommentNote:
    """A comment as an export shows it: a list at the end of its section (every format)."""

    author: str
    body: str
    quote: str = ""
    status: str = "open"
    suggestion: str | None = None
    is_reply: bool = False


@dataclass(frozen=True, slots=True)
class SectionOutline:
    title: str
    root: str
    comments: tuple[CommentNote, ...] = ()


@dataclass(slots=True)
class ExportSection:
    title: str
    blocks: list[Block]
    comments: tuple[CommentNote, ...] = field(default_factory=tuple)


def comment_line(note: CommentNote) -> str:
    """One comment as a line of text, the same words in every format."""
    parts = [f"{'↳ ' if note.is_reply else ''}{note.author}"]
    if note.status != "open" and not note.is_reply:
        parts.append(f"({note.status})")
    line = " ".join(parts) + ": " + note.body
    if note.quote:
        line += f' — on "{note.quote}"'
    if note.suggestion is not None:
        line += f' — suggests "{note.suggestion}"'
    return line
