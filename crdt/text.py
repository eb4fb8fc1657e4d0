"""A root's plain text, read with an explicit stack.

`str()` of an XML type recurses natively and kills the process on a deeply nested document
(one stored before the depth bound, say); this walk has no depth limit of its own. Block
boundaries become newlines so words on either side of one do not run together.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText


def root_text(doc: Doc[Any], name: str) -> str:
    """The text of root `name` read as rich text (a fragment of elements and text nodes)."""
    if name not in set(doc.keys()):
        return ""
    parts: list[str] = []
    stack: list[XmlElement | XmlFragment | XmlText | str] = [doc.get(name, type=XmlFragment)]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, XmlText):
            parts.extend(chunk for chunk, _attrs in node.diff() if isinstance(chunk, str))
        else:
            children = list(node.children)
            stack.append("\n")
            stack.extend(reversed(children))
    return "".join(parts)
