"""What history does with a document's content, run in the worker pool (`app.workers`).

Every function here takes encoded updates and returns plain data, so it pickles across the
process boundary; none walks a document recursively (`crdt.text` and the explicit stacks
below), so a hostile document fails one request at worst, never the server.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment

from app.formats.blocks import Block
from app.formats.from_ydoc import section_blocks
from app.formats.markdown import section_markdown
from crdt.text import root_text

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
# Diff tokens: words, runs of spaces, and each other character; a newline stands alone, so
# a change never swallows a paragraph break into a word.
_TOKEN = re.compile(r"\w+|[^\S\n]+|\n|[^\w\s]")


def build(rows: list[bytes]) -> Doc[Any]:
    """The document these version rows make: a whole state, then updates, in order."""
    doc: Doc[Any] = Doc()
    for row in rows:
        doc.apply_update(row)
    return doc


def section_text(doc: Doc[Any], root: str) -> str:
    """A section's text as a reader sees it: its blocks' texts, one line break between two
    (`root_text` ends every block, and the root, with one)."""
    text = root_text(doc, root)
    if not text:
        return ""
    children = list(doc.get(root, type=XmlFragment).children)
    end = 2 if children and isinstance(children[-1], XmlElement) else 1
    return text[:-end]


def words_changed(previous: list[bytes], delta: bytes,
                  roots: list[str]) -> dict[str, list[int]]:
    """Words added and removed per root between the version `previous` makes and the one
    `delta` makes of it: a word-level diff, so a moved sentence counts as removed and
    added, and retyping a word as one of each."""
    doc = build(previous)
    before = {root: section_text(doc, root) for root in roots}
    doc.apply_update(delta)
    counts: dict[str, list[int]] = {}
    for root in roots:
        old = _WORD.findall(before[root])
        new = _WORD.findall(section_text(doc, root))
        added = removed = 0
        for tag, i1, i2, j1, j2 in _opcodes(old, new):
            if tag in ("replace", "delete"):
                removed += i2 - i1
            if tag in ("replace", "insert"):
                added += j2 - j1
        counts[root] = [added, removed]
    return counts


def diff(rows: list[bytes], current: bytes, roots: list[str]) -> dict[str, list[list[str]]]:
    """Per root, the changes from the version to the current text as [op, text] runs, op
    one of "equal", "insert" (in the current text only) and "delete" (in the version only)."""
    version = build(rows)
    now = build([current])
    result: dict[str, list[list[str]]] = {}
    for root in roots:
        old = _TOKEN.findall(section_text(version, root))
        new = _TOKEN.findall(section_text(now, root))
        runs: list[list[str]] = []
        for tag, i1, i2, j1, j2 in _opcodes(old, new):
            if tag == "equal":
                _add(runs, "equal", "".join(old[i1:i2]))
                continue
            _add(runs, "delete", "".join(old[i1:i2]))
            _add(runs, "insert", "".join(new[j1:j2]))
        result[root] = runs
    return result


def blocks(rows: list[bytes], roots: list[str]) -> dict[str, list[Block]]:
    """The blocks of each root of the version (for `restore` to write back)."""
    doc = build(rows)
    return {root: section_blocks(doc, root) for root in roots}


def contents(rows: list[bytes], roots: list[str]) -> dict[str, tuple[str, str]]:
    """The plain text and the Markdown of each root of the version these rows make."""
    doc = build(rows)
    return {root: (section_text(doc, root), section_markdown(doc, root)) for root in roots}


def _opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes, with the common start and end taken off first: most versions
    differ from each other in a small part of a long text, and the matcher's cost grows
    with the length it is given."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    middle = difflib.SequenceMatcher(None, old[start:len(old) - end],
                                     new[start:len(new) - end], autojunk=False)
    ops: list[tuple[str, int, int, int, int]] = []
    if start:
        ops.append(("equal", 0, start, 0, start))
    ops.extend((tag, i1 + start, i2 + start, j1 + start, j2 + start)
               for tag, i1, i2, j1, j2 in middle.get_opcodes()
               if i1 != i2 or j1 != j2)
    if end:
        ops.append(("equal", len(old) - end, len(old), len(new) - end, len(new)))
    return ops


def _add(runs: list[list[str]], op: str, text: str) -> None:
    if not text:
        return
    if runs and runs[-1][0] == op:
        runs[-1][1] += text
    else:
        runs.append([op, text])
