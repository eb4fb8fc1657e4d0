"""Documents' sections as indexable text: CPU work for a worker process (`app.workers`)."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc

from app.search.words import indexable
from crdt.text import root_text


def section_texts(updates: list[bytes], roots: list[str]) -> dict[str, str]:
    """The plain text of each root of the document these updates make. Runs in a worker."""
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return {root: indexable(root_text(doc, root)) for root in roots}


def documents_texts(documents: list[tuple[list[bytes], list[str]]]) -> list[dict[str, str]]:
    """`section_texts` of each of several documents, in one job (indexing them together)."""
    return [section_texts(updates, roots) for updates, roots in documents]
