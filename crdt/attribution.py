"""Who changed how much of which root: each accepted update's own effect, credited to its sender.

A room keeps an `Attribution` index beside its live doc: for every client id, which root each
range of clocks sits in and whether it is characters of a text, and which clocks are deleted.
`credit` reads an update's structs and delete set (`crdt.shape.read_update`) against it:

- characters inserted: the update's new text structs (clocks the index did not have yet),
  in UTF-16 units as Yjs counts text length;
- characters deleted: text clocks in the update's delete set that were not deleted before
  (its own new ones included: an insert-and-delete counts both ways);
- a deletion of clocks the server does not have yet (the guard lets an unrestricted writer
  send one) is kept, and credited to its sender once those clocks arrive.

So the credit follows from each update's content alone, never from which transaction of the
live doc happened to apply it (several updates may share one, and a pending deletion lands
inside another's). The same index, built from a document's encoded state, tells how many
surviving characters each client id wrote (`surviving_chars`), for "share of the current text".
"""

from __future__ import annotations

import logging
import sys
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass

from pycrdt import IdMap, IdSet

from crdt.protocol import ProtocolError
from crdt.protocol import read_var_uint as _uint
from crdt.shape import Id, Struct, UpdateShape, read_update

log = logging.getLogger("widen.attribution")

# The root of content whose place is unknown (garbage-collected ranges, or anything that hangs
# off them): it is counted nowhere.
Root = str | None


class Absent:
    """The type of `ABSENT`: content the index does not hold."""


ABSENT = Absent()


@dataclass(slots=True)
class Credit:
    """Characters one sender inserted and deleted in one root."""
    inserted: int = 0
    deleted: int = 0


# (origin, root) -> Credit: the effect of one update, mostly its sender's.
Credits = dict[tuple[str | None, str], Credit]


class _Ranges:
    """Disjoint half-open clock ranges, sorted, with a value each."""

    __slots__ = ("ends", "starts", "values")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.values: list[tuple[Root, bool]] = []

    def at(self, clock: int) -> int:
        """Index of the range holding `clock`, or -1."""
        index = bisect_right(self.starts, clock) - 1
        return index if index >= 0 and clock < self.ends[index] else -1

    def overlapping(self, start: int, end: int) -> range:
        first = max(bisect_right(self.starts, start) - 1, 0)
        if first < len(self.ends) and self.ends[first] <= start:
            first += 1
        return range(first, bisect_right(self.starts, end - 1))


class _Client:
    """What the index knows of one client id's clocks."""

    __slots__ = ("deleted", "pending", "segments")

    def __init__(self) -> None:
        # value: (root, is text)
        self.segments = _Ranges()
        # value unused; kept merged
        self.deleted = _Ranges()
        # deletions of clocks not known yet: (start, end, deleter)
        self.pending: list[tuple[int, int, str | None]] = []

    @property
    def end(self) -> int:
        return self.segments.ends[-1] if self.segments.ends else 0

    def add_segment(self, start: int, end: int, root: Root, text: bool) -> None:
        segments = self.segments
        if (segments.ends and segments.ends[-1] == start
                and segments.values[-1] == (root, text)):
            segments.ends[-1] = end
            return
        segments.starts.append(start)
        segments.ends.append(end)
        segments.values.append((root, text))

    def delete(self, start: int, end: int) -> list[tuple[int, int]]:
        """Mark [start, end) deleted; return the parts that were not deleted before."""
        deleted = self.deleted
        span = deleted.overlapping(start, end)
        fresh: list[tuple[int, int]] = []
        cursor, new_start, new_end = start, start, end
        for index in span:
            if deleted.starts[index] > cursor:
                fresh.append((cursor, deleted.starts[index]))
            cursor = max(cursor, deleted.ends[index])
            new_start = min(new_start, deleted.starts[index])
            new_end = max(new_end, deleted.ends[index])
        if cursor < end:
            fresh.append((cursor, end))
        # Merge with touching neighbours too, so the list stays short.
        lo, hi = span.start, span.stop
        if lo > 0 and deleted.ends[lo - 1] == new_start:
            lo -= 1
            new_start = deleted.starts[lo]
        if hi < len(deleted.starts) and deleted.starts[hi] == new_end:
            new_end = deleted.ends[hi]
            hi += 1
        deleted.starts[lo:hi] = [new_start]
        deleted.ends[lo:hi] = [new_end]
        deleted.values[lo:hi] = [_NO_VALUE]
        return fresh

    def text_by_root(self, start: int, end: int) -> list[tuple[str, int]]:
        """Characters of text within [start, end), per root (known roots only)."""
        segments = self.segments
        found: list[tuple[str, int]] = []
        for index in segments.overlapping(start, end):
            root, text = segments.values[index]
            if text and root is not None:
                found.append((root, min(end, segments.ends[index])
                              - max(start, segments.starts[index])))
        return found


class Attribution:
    def __init__(self) -> None:
        self._clients: dict[int, _Client] = defaultdict(_Client)
        # The deletions of long delete sets seen so far (`_delete_long`).
        self._long_deletes = IdMap.from_set(IdSet.decode(b"\x00"), [])

    def load(self, state: bytes) -> None:
        """Index a document's encoded state (a room's stored log, applied): nothing credited."""
        self.credit(read_update(state, sys.maxsize), None)

    def credit(self, shape: UpdateShape, origin: str | None) -> Credits:
        """Index an accepted update and return what it changed, per (sender, root)."""
        credits: Credits = {}
        if len(shape.structs) == 1:
            self._index_one(shape.structs[0], origin, credits)
        elif shape.structs:
            self._index(shape.structs, origin, credits)
        deletes = shape.delete_set
        if len(deletes) <= _SHORT_DELETE_SET:
            self._delete_short(deletes, origin, credits)
        else:
            self._delete_long(deletes, origin, credits)
        return credits

    def surviving(self) -> dict[str, dict[int, int]]:
        """Characters of text not deleted, per root and client id."""
        result: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for client_id, client in self._clients.items():
            segments = client.segments
            for index, (root, text) in enumerate(segments.values):
                if not text or root is None:
                    continue
                start, end = segments.starts[index], segments.ends[index]
                gone = sum(min(end, client.deleted.ends[i]) - max(start, client.deleted.starts[i])
                           for i in client.deleted.overlapping(start, end))
                result[root][client_id] += end - start - gone
        return {root: dict(counts) for root, counts in result.items()}

    def known_end(self, client_id: int) -> int:
        """The clock after the last one indexed under `client_id` (0: none)."""
        client = self._clients.get(client_id)
        return client.end if client is not None else 0

    def root_at(self, client_id: int, clock: int) -> Root | Absent:
        """The root of the content at (client_id, clock): `ABSENT` if it is not indexed (not
        arrived, or garbage-collected), None if its place is unknown."""
        client = self._clients.get(client_id)
        index = client.segments.at(clock) if client is not None else -1
        return client.segments.values[index][0] if client is not None and index >= 0 else ABSENT

    def roots_between(self, client_id: int, start: int, end: int) -> set[Root] | None:
        """The roots of the clocks [start, end) of `client_id`, or None if any is not indexed."""
        client = self._clients.get(client_id)
        if client is None:
            return None
        segments = client.segments
        roots: set[Root] = set()
        cursor = start
        for index in segments.overlapping(start, end):
            if segments.starts[index] > cursor:
                return None
            roots.add(segments.values[index][0])
            cursor = segments.ends[index]
        return roots if cursor >= end else None

    def all_deleted(self, client_id: int, start: int, end: int) -> bool:
        """Whether every clock of [start, end) of `client_id` is deleted already."""
        client = self._clients.get(client_id)
        if client is None:
            return False
        deleted = client.deleted
        index = deleted.at(start)
        return index >= 0 and deleted.ends[index] >= end

    def _index_one(self, struct: Struct, origin: str | None, credits: Credits) -> None:
        """The usual update (one keystroke, one run of text): its references can only point
        into the index."""
        if not struct.known:
            return
        client = self._clients.get(struct.client)
        start = max(struct.clock, client.end if client is not None else 0)
        end = struct.clock + struct.length
        if start < end:
            self._place(struct.client, start, end, self._root_in_index(struct), struct.text,
                        origin, credits)

    def _root_in_index(self, struct: Struct) -> Root:
        if isinstance(struct.parent, str):
            return struct.parent
        reference = struct.parent or struct.origin or struct.right_origin
        if reference is None:
            return None
        client = self._clients.get(reference[0])
        if client is None:
            return None
        index = client.segments.at(reference[1])
        return client.segments.values[index][0] if index >= 0 else None

    def _place(self, client_id: int, start: int, end: int, root: Root, text: bool,
               origin: str | None, credits: Credits) -> None:
        client = self._clients[client_id]
        before = client.end
        client.add_segment(start, end, root, text)
        if root is not None:  # a root touched, even without characters: activity
            _add(credits, origin, root, inserted=end - start if text else 0)
        if client.pending:
            self._settle_pending(client, before, client.end, credits)

    def _index(self, structs: list[Struct], origin: str | None, credits: Credits) -> None:
        # The new part of each struct: clocks the index already has are resent content.
        fresh: dict[int, list[_Fresh]] = defaultdict(list)
        for struct in structs:
            if not struct.known:
                continue
            known_end = self._clients[struct.client].end if struct.client in self._clients else 0
            start = max(struct.clock, known_end)
            if start < struct.clock + struct.length:
                fresh[struct.client].append(_Fresh(struct, start))
        if not fresh:
            return
        for items in fresh.values():
            items.sort(key=lambda f: f.start)
        starts = {client_id: [f.start for f in items] for client_id, items in fresh.items()}
        for items in fresh.values():
            for item in items:
                if item.root is _UNRESOLVED:
                    self._resolve(item, fresh, starts)
        for client_id, items in sorted(fresh.items()):
            for item in items:
                root = item.root
                assert root is None or isinstance(root, str), "every item was resolved"
                self._place(client_id, item.start, item.struct.clock + item.struct.length,
                            root, item.struct.text, origin, credits)

    def _resolve(self, item: _Fresh, fresh: dict[int, list[_Fresh]],
                 starts: dict[int, list[int]]) -> None:
        """Find an item's root by following its parent or neighbour references, iteratively
        (typing makes chains as long as the text), through new items and the index."""
        chain: list[_Fresh] = []
        seen: set[int] = set()
        current = item
        root: object = _UNRESOLVED
        while root is _UNRESOLVED:
            chain.append(current)
            seen.add(id(current))
            struct = current.struct
            reference: Id | None
            if isinstance(struct.parent, str):
                root = struct.parent
                break
            reference = struct.parent or struct.origin or struct.right_origin
            if reference is None:
                root = None
                break
            client_id, clock = reference
            items = fresh.get(client_id)
            if items is not None:
                index = bisect_right(starts[client_id], clock) - 1
                if index >= 0 and clock < items[index].struct.clock + items[index].struct.length:
                    target = items[index]
                    if target.root is not _UNRESOLVED:
                        root = target.root
                    elif id(target) in seen:
                        root = None  # a cycle: no engine integrates that
                    else:
                        current = target
                    continue
            client = self._clients.get(client_id)
            index = client.segments.at(clock) if client is not None else -1
            root = client.segments.values[index][0] if client is not None and index >= 0 else None
        for resolved in chain:
            resolved.root = root

    def _delete_short(self, data: bytes, origin: str | None, credits: Credits) -> None:
        """A delete set of a few ranges (a keystroke's), read here: cheaper than the engine's
        decoder for so little. What was deleted already yields nothing (`_Client.delete`)."""
        if not data or data == b"\x00":
            return
        try:
            position = 0
            clients, position = _uint(data, position)
            for _ in range(clients):
                client_id, position = _uint(data, position)
                ranges, position = _uint(data, position)
                for _ in range(ranges):
                    clock, position = _uint(data, position)
                    length, position = _uint(data, position)
                    if length:
                        self._delete(client_id, clock, clock + length, origin, credits)
        except ProtocolError:
            _unreadable(origin)

    def _delete_long(self, data: bytes, origin: str | None, credits: Credits) -> None:
        """A long delete set (a client may send its whole one with every update): the engine
        decodes it and drops what an earlier long one held, so only the rest is walked here."""
        try:
            deletes = IdMap.from_set(IdSet.decode(data), [])
        except (ValueError, RuntimeError):
            # Bytes after the delete set, say, which the engine's update decoder ignores.
            self._delete_short(data, origin, credits)
            return
        deletes.diff_with(self._long_deletes)
        if deletes.is_empty():
            return
        self._long_deletes.merge_with(deletes)
        for client_id, span in deletes.entries():
            self._delete(client_id, span.start, span.end, origin, credits)

    def _delete(self, client_id: int, start: int, end: int, origin: str | None,
                credits: Credits) -> None:
        client = self._clients[client_id]
        known_end = client.end
        if end > known_end:
            # Not here yet: credited to this sender when it arrives.
            if len(client.pending) >= _MAX_PENDING:
                client.pending.pop(0)  # bounded: the live doc keeps such deletions anyway
            client.pending.append((max(start, known_end), end, origin))
            end = max(start, known_end)
        if start < end:
            for fresh_start, fresh_end in client.delete(start, end):
                for root, count in client.text_by_root(fresh_start, fresh_end):
                    _add(credits, origin, root, deleted=count)

    def _settle_pending(self, client: _Client, start: int, end: int, credits: Credits) -> None:
        still: list[tuple[int, int, str | None]] = []
        for pending_start, pending_end, deleter in client.pending:
            if pending_start < end:
                cut = min(pending_end, end)
                for fresh_start, fresh_end in client.delete(max(pending_start, start), cut):
                    for root, count in client.text_by_root(fresh_start, fresh_end):
                        _add(credits, deleter, root, deleted=count)
                if pending_end > end:
                    still.append((end, pending_end, deleter))
            else:
                still.append((pending_start, pending_end, deleter))
        client.pending = still


_UNRESOLVED = object()
_NO_VALUE: tuple[Root, bool] = (None, False)
# Deletions of not-yet-known clocks kept per client id; beyond it the oldest is forgotten.
_MAX_PENDING = 1000
# Delete sets up to this many bytes are read in Python (`Attribution._delete_short`).
_SHORT_DELETE_SET = 48


class _Fresh:
    """The new part of a struct, from clock `start`, while its root is being found."""

    __slots__ = ("root", "start", "struct")

    def __init__(self, struct: Struct, start: int) -> None:
        self.struct = struct
        self.start = start
        self.root: object = _UNRESOLVED


def _unreadable(origin: str | None) -> None:
    # The engine applied the update all the same (a hand-made encoding it tolerates): the
    # update is stored and relayed, only its deletions go uncounted.
    log.warning("a delete set could not be read for attribution",
                extra={"event": "attribution.unreadable", "origin": origin})


def _add(credits: Credits, origin: str | None, root: str, *, inserted: int = 0,
         deleted: int = 0) -> None:
    credit = credits.get((origin, root))
    if credit is None:
        credit = credits[(origin, root)] = Credit()
    credit.inserted += inserted
    credit.deleted += deleted


def surviving_chars(state: bytes) -> dict[str, dict[int, int]]:
    """Characters of the current text per root and Yjs client id, from a document's encoded
    state (what `Doc.get_update()` returns)."""
    index = Attribution()
    index.load(state)
    return index.surviving()
