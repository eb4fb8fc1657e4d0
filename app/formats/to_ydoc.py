"""Blocks written into an XmlFragment exactly as y-prosemirror writes the editor's nodes.

y-prosemirror (`createTypeFromElementNode`, `createTypeFromTextNodes`) makes an `XmlElement`
named after each node type holding its non-null attributes, one `XmlText` per run of adjacent
text nodes with each mark as a formatting attribute (`strong: {}`, `link: {href, title}`), and
an element per inline node (`hard_break`). The browser editor then shows what is written here
as if a person had typed it. Content the schema would not accept (a list item not starting
with a paragraph, an empty quote or list) is completed or left out, so the editor never has
to discard a node.
"""

from __future__ import annotations

from typing import Any

from pycrdt import XmlElement, XmlFragment, XmlText

from app.formats.blocks import (
    Block,
    BulletList,
    CodeBlock,
    HardBreak,
    Heading,
    Inline,
    ListItem,
    Mark,
    Paragraph,
    Quote,
    Rule,
    Text,
)

Parent = XmlFragment | XmlElement


def write_blocks(fragment: XmlFragment, blocks: list[Block]) -> None:
    """Append `blocks` to `fragment` (empty, normally), inside the caller's transaction if it
    holds one. Walks with an explicit stack: blocks from any reader may nest deeply."""
    stack: list[tuple[Block | ListItem, Parent]] = [(b, fragment) for b in reversed(blocks)]
    while stack:
        block, parent = stack.pop()
        stack.extend(reversed(_write(block, parent)))


def _element(parent: Parent, tag: str, attrs: dict[str, Any] | None = None) -> XmlElement:
    element = parent.children.append(XmlElement(tag))
    for key, value in (attrs or {}).items():
        element.attributes[key] = value
    return element


def _write(block: Block | ListItem, parent: Parent) -> list[tuple[Block | ListItem, Parent]]:
    """Write one block; return its children to write, each with the element to go in."""
    if isinstance(block, Paragraph | Heading):
        element = (_element(parent, "paragraph") if isinstance(block, Paragraph)
                   else _element(parent, "heading", {"level": block.level}))
        _write_inlines(element, block.inlines)
        return []
    if isinstance(block, CodeBlock):
        element = _element(parent, "code_block")
        if block.text:
            element.children.append(XmlText()).insert(0, block.text, {})
        return []
    if isinstance(block, Rule):
        _element(parent, "horizontal_rule")
        return []
    if isinstance(block, Quote):
        element = _element(parent, "blockquote")
        return [(child, element) for child in block.blocks or [Paragraph()]]
    if isinstance(block, ListItem):
        element = _element(parent, "list_item")
        children = block.blocks
        if not children or not isinstance(children[0], Paragraph):
            children = [Paragraph(), *children]
        return [(child, element) for child in children]
    if not block.items:
        return []
    if isinstance(block, BulletList):
        element = _element(parent, "bullet_list")
    else:
        element = _element(parent, "ordered_list", {"order": block.start})
    return [(item, element) for item in block.items]


def _write_inlines(element: XmlElement, inlines: list[Inline]) -> None:
    """Adjacent texts share one XmlText; each hard break is an element between them."""
    text: XmlText | None = None
    for inline in inlines:
        if isinstance(inline, HardBreak):
            _element(element, "hard_break")
            text = None
        elif isinstance(inline, Text) and inline.text:
            if text is None:
                text = element.children.append(XmlText())
            text.insert(len(text), inline.text, _attributes(inline.marks))


def _attributes(marks: tuple[Mark, ...]) -> dict[str, Any]:
    """A run's marks as y-prosemirror stores them: each mark's attrs under its name."""
    attrs: dict[str, Any] = {}
    for mark in marks:
        attrs[mark.kind] = ({"href": mark.href, "title": mark.title} if mark.kind == "link"
                            else {})
    return attrs
