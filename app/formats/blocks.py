"""The neutral shape of a section's rich text, shared by every format.

It mirrors the editor's schema (`frontend/src/editor/schema.ts`): what a writer or reader of
a format handles is exactly what the editor can show, nothing more. Blocks are plain mutable
dataclasses so readers can fill containers as they walk, without recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MarkKind = Literal["strong", "em", "code", "link"]


@dataclass(frozen=True, slots=True)
class Mark:
    kind: MarkKind
    href: str | None = None  # links only
    title: str | None = None  # links only


@dataclass(slots=True)
class Text:
    text: str
    marks: tuple[Mark, ...] = ()


@dataclass(slots=True)
class HardBreak:
    pass


Inline = Text | HardBreak


@dataclass(slots=True)
class Paragraph:
    inlines: list[Inline] = field(default_factory=list)


@dataclass(slots=True)
class Heading:
    level: int
    inlines: list[Inline] = field(default_factory=list)


@dataclass(slots=True)
class CodeBlock:
    text: str = ""


@dataclass(slots=True)
class Rule:
    pass


@dataclass(slots=True)
class Quote:
    blocks: list[Block] = field(default_factory=list)


@dataclass(slots=True)
class ListItem:
    blocks: list[Block] = field(default_factory=list)


@dataclass(slots=True)
class BulletList:
    items: list[ListItem] = field(default_factory=list)


@dataclass(slots=True)
class OrderedList:
    items: list[ListItem] = field(default_factory=list)
    start: int = 1


Block = Paragraph | Heading | CodeBlock | Rule | Quote | BulletList | OrderedList
Container = Quote | ListItem

# Containers inside containers deeper than this are flattened into the deepest one by every
# reader: a document stored before the depth bound may nest thousands of quotes, and the
# writers of each format can then walk blocks plainly, without a stack of their own.
MAX_NESTING = 32


def plain_text(inlines: list[Inline]) -> str:
    """The characters of some inlines, a hard break being a newline (titles, comparisons)."""
    return "".join(i.text if isinstance(i, Text) else "\n" for i in inlines)


def merged(inlines: list[Inline]) -> list[Inline]:
    """Adjacent texts with the same marks joined, empty texts dropped: one canonical form, so
    two readers of the same content give equal blocks."""
    out: list[Inline] = []
    for inline in inlines:
        if isinstance(inline, Text):
            if not inline.text:
                continue
            last = out[-1] if out else None
            if isinstance(last, Text) and last.marks == inline.marks:
                out[-1] = Text(last.text + inline.text, last.marks)
                continue
        out.append(inline)
    return out


def sorted_marks(marks: list[Mark] | tuple[Mark, ...]) -> tuple[Mark, ...]:
    """Marks in one fixed order (link outermost, code innermost), without duplicates."""
    order = {"link": 0, "strong": 1, "em": 2, "code": 3}
    unique = {m.kind: m for m in marks}
    return tuple(sorted(unique.values(), key=lambda m: order[m.kind]))
