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
# Tokens of a changed run of lines beyond which it is not compared word by word.
_WORD_DIFF_TOKENS = 4000


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
    `delta` makes of it, read off their diff: a moved sentence counts as removed and added,
    and retyping a word as one of each."""
    doc = build(previous)
    before = {root: section_text(doc, root) for root in roots}
    doc.apply_update(delta)
    counts: dict[str, list[int]] = {}
    for root in roots:
        runs = text_diff(before[root], section_text(doc, root))
        counts[root] = [sum(len(_WORD.findall(text)) for op, text in runs if op == "insert"),
                        sum(len(_WORD.findall(text)) for op, text in runs if op == "delete")]
    return counts


def diff(rows: list[bytes], current: bytes, roots: list[str]) -> dict[str, list[list[str]]]:
    """Per root, the changes from the version to the current text as [op, text] runs, op
    one of "equal", "insert" (in the current text only) and "delete" (in the version only)."""
    version = build(rows)
    now = build([current])
    return {root: text_diff(section_text(version, root), section_text(now, root))
            for root in roots}


def text_diff(old: str, new: str) -> list[list[str]]:
    """Lines first, then words inside each changed run of lines: matching every word of a
    long text against every other is quadratic (a minute for a paper of 100,000 characters
    half rewritten), matching lines and then the words of small changed runs is not. A run
    of more than `_WORD_DIFF_TOKENS` tokens is shown as removed and added whole."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    runs: list[list[str]] = []
    for tag, i1, i2, j1, j2 in _opcodes(old_lines, new_lines):
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if tag == "equal":
            _add(runs, "equal", before)
            continue
        old_tokens, new_tokens = _TOKEN.findall(before), _TOKEN.findall(after)
        if tag != "replace" or len(old_tokens) + len(new_tokens) > _WORD_DIFF_TOKENS:
            _add(runs, "delete", before)
            _add(runs, "insert", after)
            continue
        for word_tag, k1, k2, l1, l2 in _opcodes(old_tokens, new_tokens):
            if word_tag == "equal":
                _add(runs, "equal", "".join(old_tokens[k1:k2]))
            else:
                _add(runs, "delete", "".join(old_tokens[k1:k2]))
                _add(runs, "insert", "".join(new_tokens[l1:l2]))
    return runs


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
