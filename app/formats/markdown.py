"""Markdown (CommonMark) out of blocks and back, and a whole document's Markdown (DESIGN §9).

A document is YAML front matter with its `title:`, then each section as a `#` heading followed
by its content, headings inside a section shifted one level down (capped at `######`). Reading
does the reverse: each top-level `#` starts a section and deeper headings move back up one.
The reader is markdown-it-py (CommonMark); its token stream is flat, so reading needs no
recursion either.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pycrdt import Doc

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
    plain_text,
    sorted_marks,
)
from app.formats.from_ydoc import section_blocks

# --- writing ----------------------------------------------------------------------------------

_ESCAPED = re.compile(r"([\\`*_\[\]<>#!&~|])")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])", re.MULTILINE)
_OPEN = {"strong": "**", "em": "*"}


def section_markdown(doc: Doc[Any], root_name: str) -> str:
    """One section's content as Markdown, its headings at their own levels."""
    return blocks_markdown(section_blocks(doc, root_name))


def document_markdown(title: str, sections: list[tuple[str, list[Block]]]) -> str:
    """A whole document: front matter, then each section under its `#` title."""
    parts = [f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n---"]
    for section_title, blocks in sections:
        parts.append("# " + _escape(section_title.replace("\n", " ")).strip())
        body = blocks_markdown(blocks, heading_shift=1)
        if body:
            parts.append(body.rstrip("\n"))
    return "\n\n".join(parts) + "\n"


def blocks_markdown(blocks: list[Block], heading_shift: int = 0) -> str:
    text = "\n\n".join(_block(b, heading_shift) for b in blocks)
    return text + "\n" if text else ""


def _block(block: Block, shift: int) -> str:
    """Blocks nest at most `MAX_NESTING` deep (every reader flattens deeper ones), so this
    recursion is bounded."""
    if isinstance(block, Paragraph):
        return _inlines(block.inlines) or "<!-- -->"
    if isinstance(block, Heading):
        return "#" * min(6, block.level + shift) + " " + _inlines(block.inlines)
    if isinstance(block, CodeBlock):
        longest = max((len(run) for run in re.findall(r"`+", block.text)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}\n{block.text}\n{fence}"
    if isinstance(block, Rule):
        return "---"
    if isinstance(block, Quote):
        inner = "\n\n".join(_block(b, shift) for b in block.blocks)
        return "\n".join(">" + (" " + line if line else "") for line in inner.split("\n"))
    items = []
    for number, item in enumerate(block.items, start=getattr(block, "start", 1)):
        marker = f"{number}. " if isinstance(block, OrderedList) else "- "
        inner = "\n\n".join(_block(b, shift) for b in item.blocks)
        lines = inner.split("\n")
        pad = " " * len(marker)
        items.append("\n".join([marker + lines[0]]
                               + [pad + line if line else "" for line in lines[1:]]))
    return "\n".join(items)


def _escape(text: str) -> str:
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _ESCAPED.sub(r"\\\1", text))


def _code_span(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or text.startswith(" ") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _inlines(inlines: list[Inline]) -> str:
    """Marks open and close around runs like a stack: a mark already open stays open while
    the next run keeps it. Spaces at the edge of a marked run move outside its delimiters,
    where CommonMark wants them."""
    out: list[str] = []
    open_marks: list[Mark] = []

    def close_to(keep: int) -> None:
        while len(open_marks) > keep:
            mark = open_marks.pop()
            out.append(f"]({_destination(mark)})" if mark.kind == "link" else _OPEN[mark.kind])

    for inline in merged(inlines):
        if isinstance(inline, HardBreak):
            close_to(0)
            out.append("\\\n")
            continue
        marks = [m for m in sorted_marks(inline.marks) if m.kind != "code"]
        code = any(m.kind == "code" for m in inline.marks)
        keep = 0
        while keep < len(open_marks) and keep < len(marks) and open_marks[keep] == marks[keep]:
            keep += 1
        body = inline.text
        lead = body[: len(body) - len(body.lstrip())]
        trail = body[len(body.rstrip()):] if body.strip() else ""
        core = body[len(lead): len(body) - len(trail)] if body.strip() else ""
        if not core:  # whitespace only: outside any new mark
            close_to(keep)
            out.append(_text(body))
            continue
        close_to(keep)
        out.append(_text(lead))
        for mark in marks[keep:]:
            open_marks.append(mark)
            out.append("[" if mark.kind == "link" else _OPEN[mark.kind])
        out.append(_code_span(core) if code else _text(core))
        if trail:
            close_to(0)
            out.append(_text(trail))
    close_to(0)
    return "".join(out)


def _text(text: str) -> str:
    # A newline in a run (a replayed trace keeps them as characters) is a hard break.
    return "\\\n".join(_escape(line) for line in text.split("\n"))


def _destination(mark: Mark) -> str:
    href = (mark.href or "").replace("\\", "%5C").replace("<", "%3C").replace(">", "%3E")
    title = ""
    if mark.title:
        title = ' "' + mark.title.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"<{href}>{title}"


# --- reading ----------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(slots=True)
class ImportedSection:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(slots=True)
class ImportedDocument:
    title: str | None
    sections: list[ImportedSection]


def read_markdown(text: str) -> tuple[str | None, list[Block]]:
    """The front matter's title (if any) and every block of a Markdown text."""
    title = None
    if match := _FRONT_MATTER.match(text):
        text = text[match.end():]
        for line in match.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "title":
                title = _yaml_scalar(value.strip())
    parser = MarkdownIt("commonmark")
    return title, _blocks(parser.parse(text))


def split_sections(blocks: list[Block], first_title: str) -> list[ImportedSection]:
    """Each top-level heading 1 starts a section titled by it; what comes before the first
    goes in a section called `first_title`. Deeper headings move one level up."""
    sections: list[ImportedSection] = []
    for block in blocks:
        if isinstance(block, Heading) and block.level == 1:
            sections.append(ImportedSection(plain_text(block.inlines).strip() or "Untitled"))
            continue
        if not sections:
            sections.append(ImportedSection(first_title))
        if isinstance(block, Heading):
            block.level -= 1
        sections[-1].blocks.append(block)
    return sections


def import_markdown(text: str, file_title: str) -> ImportedDocument:
    title, blocks = read_markdown(text)
    return ImportedDocument(title, split_sections(blocks, file_title))


def _yaml_scalar(value: str) -> str:
    if value.startswith('"'):
        try:
            loaded = json.loads(value)
        except ValueError:
            return value.strip('"')
        return loaded if isinstance(loaded, str) else value
    if value.startswith("'") and value.endswith("'") and len(value) >= 2:
        return value[1:-1].replace("''", "'")
    return value


@dataclass(slots=True)
class _Frame:
    container: Quote | ListItem | BulletList | OrderedList | None
    blocks: list[Block] | None  # where blocks go (None in a list: items go there)
    nested: bool  # a real container, not one flattened past MAX_NESTING


def _blocks(tokens: list[Token]) -> list[Block]:
    root: list[Block] = []
    stack = [_Frame(None, root, True)]
    depth = 0
    pending: Paragraph | Heading | None = None
    for token in tokens:
        frame = stack[-1]
        kind = token.type
        if kind in ("blockquote_open", "bullet_list_open", "ordered_list_open", "list_item_open"):
            stack.append(_open(token, frame, depth))
            depth += 1 if stack[-1].nested else 0
        elif kind in ("blockquote_close", "bullet_list_close", "ordered_list_close",
                      "list_item_close"):
            closed = stack.pop()
            depth -= 1 if closed.nested else 0
        elif kind in ("paragraph_open", "heading_open"):
            pending = (Paragraph() if kind == "paragraph_open"
                       else Heading(int(token.tag[1:])))
            _target(frame).append(pending)
        elif kind == "inline" and pending is not None:
            pending.inlines.extend(_inline(token.children or []))
        elif kind in ("paragraph_close", "heading_close"):
            pending = None
        elif kind in ("fence", "code_block"):
            _target(frame).append(CodeBlock(token.content.removesuffix("\n")))
        elif kind == "hr":
            _target(frame).append(Rule())
        elif kind == "html_block":
            _target(frame).append(Paragraph([Text(token.content.strip())]) if token.content.strip()
                                  else Paragraph())
    return root


def _target(frame: _Frame) -> list[Block]:
    """Where a block goes: the frame's blocks, or a new item of a list (a block straight in a
    list does not come from markdown-it, but a flattened frame may point here)."""
    if frame.blocks is not None:
        return frame.blocks
    assert isinstance(frame.container, BulletList | OrderedList)
    item = ListItem()
    frame.container.items.append(item)
    return item.blocks


def _open(token: Token, frame: _Frame, depth: int) -> _Frame:
    if token.type == "list_item_open":
        if isinstance(frame.container, BulletList | OrderedList):
            item = ListItem()
            frame.container.items.append(item)
            return _Frame(item, item.blocks, True)
        return _Frame(None, _target(frame), False)
    if depth >= MAX_NESTING:
        return _Frame(None, _target(frame), False)
    if token.type == "blockquote_open":
        quote = Quote()
        _target(frame).append(quote)
        return _Frame(quote, quote.blocks, True)
    listing: BulletList | OrderedList
    if token.type == "bullet_list_open":
        listing = BulletList()
    else:
        start = token.attrGet("start")
        listing = OrderedList(start=int(start) if isinstance(start, int | str) else 1)
    _target(frame).append(listing)
    return _Frame(listing, None, True)


def _inline(tokens: list[Token]) -> list[Inline]:
    out: list[Inline] = []
    active: list[Mark] = []
    for token in tokens:
        kind = token.type
        if kind == "text" or kind == "html_inline":
            out.append(Text(token.content, sorted_marks(active)))
        elif kind == "code_inline":
            out.append(Text(token.content, sorted_marks([*active, Mark("code")])))
        elif kind == "softbreak":
            out.append(Text(" ", sorted_marks(active)))
        elif kind == "hardbreak":
            out.append(HardBreak())
        elif kind in ("strong_open", "em_open"):
            active.append(Mark("strong" if kind == "strong_open" else "em"))
        elif kind == "link_open":
            href, title = token.attrGet("href"), token.attrGet("title")
            active.append(Mark("link", str(href or ""), str(title) if title else None))
        elif kind in ("strong_close", "em_close", "link_close"):
            name = kind.removesuffix("_close")
            for index in range(len(active) - 1, -1, -1):
                if active[index].kind == name:
                    del active[index]
                    break
        elif kind == "image":
            out.append(Text(token.content, sorted_marks(active)))
    return merged(out)
