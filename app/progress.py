"""Progress without reading: per-section word counts, statuses, due dates and who contributes.

Counting words needs the text, so it happens here, on the server, and only the numbers leave:
a `progress` member learns how far a section is, never what it says.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from pycrdt import Doc, XmlFragment

from crdt.rooms import Rooms
from crdt.store import UpdateStore

_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")


async def document_snapshot(rooms: Rooms, store: UpdateStore, document_id: str) -> Doc:
    """The live doc if its room is open, else a copy rebuilt from the store."""
    room = rooms.get(document_id)
    if room is not None:
        return room.doc
    doc = Doc()
    for row in await store.read(document_id):
        doc.apply_update(row)
    return doc


def section_words(doc: Doc, root: str) -> int:
    if root not in set(doc.keys()):
        return 0
    markup = str(doc.get(root, type=XmlFragment))
    return len(_WORD.findall(html.unescape(_TAG.sub(" ", markup))))


def from_epoch_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)
