"""A section's XmlFragment read into blocks, the way y-prosemirror stores the editor's schema.

y-prosemirror keeps each node as an `XmlElement` named after the node type, with its
attributes (`level`, `order`) as element attributes, and each run of text as an `XmlText`
whose formatting attributes are the marks: `{"strong": {}}`, `{"link": {"href", "title"}}`
(a mark that may overlap itself gets a `--hash` suffix). The walk uses an explicit stack:
members write these trees, and a tree stored before the depth bound may be thousands of
levels deep. Containers deeper than `MAX_NESTING` are flattened into the deepest one and
unknown elements are read through for their text: odd input degrades, it never crashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

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
    MarkKind,
    OrderedList,
    Paragraph,
    Quote,
    Rule,
    Text,
    merged,
    sorted_marks,
)

_SIMPLE_MARKS: dict[str, MarkKind] = {"strong": "strong", "em": "em", "code": "code"}
Context = Literal["block", "list", "inline", "code"]
Node = XmlElement | XmlFragment | XmlText


@dataclass(slots=True)
class _Visit:
    node: Node
    context: Context
    # list[Block] for "block", the list for "list", list[Inline] for "inline", the
    # CodeBlock for "code".
    target: Any
    depth: int


def section_blocks(doc: Doc[Any], root_name: str) -> list[Block]:
    """The blocks of root `root_name` (an empty list when the root does not exist)."""
    if root_name not in set(doc.keys()):
        return []
    return fragment_blocks(doc.get(root_name, type=XmlFragment))


def fragment_blocks(fragment: XmlFragment) -> list[Block]:
    blocks: list[Block] = []
    inline_lists: list[list[Inline]] = []
    stack = [_Visit(child, "block", blocks, 0) for child in reversed(list(fragment.children))]
    while stack:
        visit = stack.pop()
        stack.extend(reversed(_visit(visit, inline_lists)))
    for inlines in inline_lists:
        inlines[:] = merged(inlines)
    return blocks


def _children(node: XmlElement | XmlFragment, context: Context, target: Any,
              depth: int) -> list[_Visit]:
    return [_Visit(child, context, target, depth) for child in node.children]


def _visit(visit: _Visit, inline_lists: list[list[Inline]]) -> list[_Visit]:
    """Handle one node; return the visits of its children, in document order."""
    node, context, target, depth = visit.node, visit.context, visit.target, visit.depth
    if isinstance(node, XmlText):
        return _text(node, context, target, depth, inline_lists)
    tag = (node.tag or "") if isinstance(node, XmlElement) else ""
    if context == "inline":
        if tag == "hard_break":
            target.append(HardBreak())
            return []
        return _children(node, "inline", target, depth)
    if context == "code":
        if tag == "hard_break":
            target.text += "\n"
            return []
        return _children(node, "code", target, depth)
    if context == "list":
        item = ListItem()
        target.items.append(item)
        if tag == "list_item":
            return _children(node, "block", item.blocks, depth)
        return [_Visit(node, "block", item.blocks, depth)]
    return _block(node, tag, target, depth, inline_lists)


def _block(node: XmlElement | XmlFragment, tag: str, blocks: list[Block], depth: int,
           inline_lists: list[list[Inline]]) -> list[_Visit]:
    if tag in ("paragraph", "heading"):
        block: Paragraph | Heading = (Paragraph() if tag == "paragraph"
                                      else Heading(_level(_attribute(node, "level"))))
        blocks.append(block)
        inline_lists.append(block.inlines)
        return _children(node, "inline", block.inlines, depth)
    if tag == "code_block":
        code = CodeBlock()
        blocks.append(code)
        return _children(node, "code", code, depth)
    if tag == "horizontal_rule":
        blocks.append(Rule())
        return []
    if tag == "hard_break":
        return []
    nested = depth < MAX_NESTING
    if tag == "blockquote" and nested:
        quote = Quote()
        blocks.append(quote)
        return _children(node, "block", quote.blocks, depth + 1)
    if tag in ("bullet_list", "ordered_list") and nested:
        listing: BulletList | OrderedList = (
            BulletList() if tag == "bullet_list"
            else OrderedList(start=_level(_attribute(node, "order"), top=10**9)))
        blocks.append(listing)
        return _children(node, "list", listing, depth + 1)
    # A list item out of a list, a container too deep, an element the schema does not know:
    # its content goes where it stands.
    return _children(node, "block", blocks, depth)


def _text(node: XmlText, context: Context, target: Any, depth: int,
          inline_lists: list[list[Inline]]) -> list[_Visit]:
    if context == "code":
        target.text += "".join(c for c, _ in node.diff() if isinstance(c, str))
        return []
    if context == "block":  # text straight in a section (a replayed trace): a paragraph
        paragraph = Paragraph()
        target.append(paragraph)
        inline_lists.append(paragraph.inlines)
        target = paragraph.inlines
    elif context == "list":
        first = Paragraph()
        target.items.append(ListItem([first]))
        inline_lists.append(first.inlines)
        target = first.inlines
    for chunk, attrs in node.diff():
        if isinstance(chunk, str):
            target.append(Text(chunk, _marks(attrs)))
    return []


def _marks(attrs: dict[str, Any] | None) -> tuple[Mark, ...]:
    marks: list[Mark] = []
    for key, value in (attrs or {}).items():
        name = key.split("--", 1)[0]
        if name in _SIMPLE_MARKS:
            marks.append(Mark(_SIMPLE_MARKS[name]))
        elif name == "link" and isinstance(value, dict) and isinstance(value.get("href"), str):
            title = value.get("title")
            marks.append(Mark("link", value["href"], title if isinstance(title, str) else None))
    return sorted_marks(marks)


def _attribute(node: XmlElement | XmlFragment, key: str) -> object:
    return node.attributes.get(key) if isinstance(node, XmlElement) else None


def _level(value: object, top: int = 6) -> int:
    """A numeric attribute as an int within [1, top]: Yjs numbers arrive as int or float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 1
    return max(1, min(top, int(value)))
