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

Words are credited alongside. A *word start* is a non-whitespace character whose left
neighbour at insertion time (its `origin`, or the previous character of its struct) is
whitespace, nothing (the start of a text: a paragraph's first character has no origin), or a
word boundary. A formatting mark is transparent: it continues a word if its own left neighbour
does, so "foo **bar**" has two word starts and "foo**bar**" one. Embeds, shared types and any
other content are boundaries. Deleted characters are transparent too, because Yjs makes the
last deleted character before the cursor the origin of what is typed next (type "hello world",
erase "world", type "there": the "t" follows a deleted "d" but starts a word). The index does
not keep who a deleted character followed, so a run of deleted clocks of one client id takes
the value of that client's clock just before the run: exact for text typed in one go and
erased (by backspace or selection), an approximation when the run's first character was typed
elsewhere. Then:

- words inserted: the word starts among an update's new characters (typing "hello world" key
  by key, or pasting it, inserts 2);
- words deleted: the word starts, as recorded at insertion, among the characters it deletes
  (pending deletions too, when they settle). A word start is never recounted: deleting the
  space between two words leaves two starts, typing before a word's first letter makes a new
  one. Content that arrives already deleted (a sender's insert-and-delete, sent without its
  text) has no words either way.

The index keeps two bits per clock for this (`_Client.in_word`, `_Client.word_starts`), in a
bytearray per client id, and reads each string's words with a few whole-string operations:
no per-character Python work on the keystroke path.

So the credit follows from each update's content alone, never from which transaction of the
live doc happened to apply it (several updates may share one, and a pending deletion lands
inside another's). The same index, built from a document's encoded state, tells how many
surviving characters each client id wrote (`surviving_chars`), for "share of the current text".
"""

from __future__ import annotations

import logging
import re
import sys
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass

from pycrdt import IdMap, IdSet

from crdt.protocol import ProtocolError
from crdt.shape import Id, Struct, UpdateShape, delete_ranges, read_update

log = logging.getLogger("widen.attribution")

# The root of content whose place is unknown (garbage-collected ranges, or anything that hangs
# off them): it is counted nowhere.
Root = str | None


class Absent:
    """The type of `ABSENT`: content the index does not hold."""


ABSENT = Absent()


@dataclass(slots=True)
class Credit:
    """Characters (UTF-16 units) and words one sender inserted and deleted in one root."""
    inserted: int = 0
    deleted: int = 0
    words_inserted: int = 0
    words_deleted: int = 0


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


class _Bits:
    """A set of clocks of one client id, a bit each (bit k of the bytes, little-endian, is
    clock k): grows only as far as its highest clock set."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = bytearray()

    def get(self, clock: int) -> int:
        byte = clock >> 3
        return (self.data[byte] >> (clock & 7)) & 1 if byte < len(self.data) else 0

    def put(self, start: int, bits: int) -> None:
        """Add `bits` (its bit 0 is clock `start`)."""
        if not bits:
            return
        first = start >> 3
        if bits == 1 and first < len(self.data):  # a keystroke's
            self.data[first] |= 1 << (start & 7)
            return
        shifted = bits << (start & 7)
        end = first + (shifted.bit_length() + 7) // 8
        data = self.data
        if len(data) < end:
            data.extend(bytes(end - len(data)))
        data[first:end] = (int.from_bytes(data[first:end], "little") | shifted).to_bytes(
            end - first, "little")

    def fill(self, start: int, end: int, bit: int) -> None:
        """Put [start, end) in the set (`bit` 1) or take it out (0)."""
        data = self.data
        first, last = start >> 3, (end + 7) >> 3
        if end - start == 1 and first < len(data):  # a keystroke's
            if bit:
                data[first] |= 1 << (start & 7)
            else:
                data[first] &= ~(1 << (start & 7)) & 0xFF
            return
        if bit and len(data) < last:
            data.extend(bytes(last - len(data)))
        last = min(last, len(data))
        if first >= last:
            return
        mask = ((1 << (end - start)) - 1) << (start & 7)
        value = int.from_bytes(data[first:last], "little")
        data[first:last] = (value | mask if bit else value & ~mask).to_bytes(last - first,
                                                                             "little")

    def count(self, start: int, end: int) -> int:
        """How many clocks of [start, end) are in the set."""
        first, last = start >> 3, min((end + 7) >> 3, len(self.data))
        if first >= last:
            return 0
        value = int.from_bytes(self.data[first:last], "little") >> (start & 7)
        return (value & ((1 << (end - start)) - 1)).bit_count()


class _Client:
    """What the index knows of one client id's clocks."""

    __slots__ = ("deleted", "in_word", "pending", "segments", "word_starts")

    def __init__(self) -> None:
        # value: (root, is text)
        self.segments = _Ranges()
        # value unused; kept merged
        self.deleted = _Ranges()
        # deletions of clocks not known yet: (start, end, deleter)
        self.pending: list[tuple[int, int, str | None]] = []
        # Clocks after which a word goes on (a non-whitespace character, or a mark that
        # continues one), and the word starts (module docstring).
        self.in_word = _Bits()
        self.word_starts = _Bits()

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
        self._carry_word(start, end, new_start, new_end)
        return fresh

    def _carry_word(self, start: int, end: int, run_start: int, run_end: int) -> None:
        """Make [start, end), now in the deleted run [run_start, run_end), transparent: a word
        goes on after it if one goes on just before the run (module docstring). Each run keeps
        one value, so the part after `end` is rewritten only if it held another."""
        in_word = self.in_word
        value = in_word.get(run_start - 1) if run_start else 0
        in_word.fill(start, end, value)
        if run_end > end and in_word.get(end) != value:
            in_word.fill(end, run_end, value)

    def text_by_root(self, start: int, end: int) -> list[tuple[str, int, int]]:
        """Characters and word starts of text within [start, end), per root (known roots
        only)."""
        segments = self.segments
        found: list[tuple[str, int, int]] = []
        for index in segments.overlapping(start, end):
            root, text = segments.values[index]
            if text and root is not None:
                low, high = max(start, segments.starts[index]), min(end, segments.ends[index])
                found.append((root, high - low, self.word_starts.count(low, high)))
        return found


class Attribution:
    def __init__(self, *, words: bool = True) -> None:
        """Without `words`, characters only: for `surviving_chars`, which needs no words."""
        self._words = words
        self._clients: dict[int, _Client] = defaultdict(_Client)
        # The deletions of long delete sets seen so far (`_delete_long`).
        self._long_deletes = IdMap.from_set(IdSet.decode(b"\x00"), [])

    def load(self, state: bytes) -> None:
        """Index a document's encoded state (a room's stored log, applied): nothing credited."""
        self.credit(read_update(state, sys.maxsize, strings=self._words), None)

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
            words = self._record_words(struct, start) if self._words else 0
            self._place(struct.client, start, end, self._root_in_index(struct), struct.text,
                        words, origin, credits)

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

    def _record_words(self, struct: Struct, start: int) -> int:
        """Keep the word bits of a struct's new clocks, from `start`; return how many words
        they start. Its left neighbour must be recorded already (`_record_all`)."""
        left = 0
        if struct.origin is not None:
            neighbour = self._clients.get(struct.origin[0])
            left = neighbour.in_word.get(struct.origin[1]) if neighbour is not None else 0
        in_word, starts = _word_bits(struct, left)
        skip = start - struct.clock  # the part the index has: resent content
        if skip:
            in_word, starts = in_word >> skip, starts >> skip
        client = self._clients[struct.client]
        client.in_word.put(start, in_word)
        client.word_starts.put(start, starts)
        return starts.bit_count()

    def _record_all(self, fresh: dict[int, list[_Fresh]], starts: dict[int, list[int]]) -> None:
        """Record the words of an update's new items, each after the new item holding its
        left neighbour (typing makes chains as long as the text: a stack, not recursion)."""
        for items in fresh.values():
            for item in items:
                if item.words is not None:
                    continue
                stack, waiting = [item], {id(item)}
                while stack:
                    current = stack[-1]
                    target = _fresh_at(current.struct.origin, fresh, starts)
                    if (target is not None and target.words is None
                            and id(target) not in waiting):  # in `waiting`: a cycle
                        stack.append(target)
                        waiting.add(id(target))
                        continue
                    current.words = self._record_words(current.struct, current.start)
                    stack.pop()

    def _place(self, client_id: int, start: int, end: int, root: Root, text: bool, words: int,
               origin: str | None, credits: Credits) -> None:
        client = self._clients[client_id]
        before = client.end
        client.add_segment(start, end, root, text)
        if root is not None:  # a root touched, even without characters: activity
            if text:
                _add(credits, origin, root, inserted=end - start, words_inserted=words)
            else:
                _add(credits, origin, root)
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
        if self._words:
            self._record_all(fresh, starts)
        for client_id, items in sorted(fresh.items()):
            for item in items:
                root = item.root
                assert root is None or isinstance(root, str), "every item was resolved"
                self._place(client_id, item.start, item.struct.clock + item.struct.length,
                            root, item.struct.text, item.words or 0, origin, credits)

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
            target = _fresh_at(reference, fresh, starts)
            if target is not None:
                if target.root is not _UNRESOLVED:
                    root = target.root
                elif id(target) in seen:
                    root = None  # a cycle: no engine integrates that
                else:
                    current = target
                continue
            client_id, clock = reference
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
            for client_id, clock, length in delete_ranges(data):
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
                for root, count, words in client.text_by_root(fresh_start, fresh_end):
                    _add(credits, origin, root, deleted=count, words_deleted=words)

    def _settle_pending(self, client: _Client, start: int, end: int, credits: Credits) -> None:
        still: list[tuple[int, int, str | None]] = []
        for pending_start, pending_end, deleter in client.pending:
            if pending_start < end:
                cut = min(pending_end, end)
                for fresh_start, fresh_end in client.delete(max(pending_start, start), cut):
                    for root, count, words in client.text_by_root(fresh_start, fresh_end):
                        _add(credits, deleter, root, deleted=count, words_deleted=words)
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

    __slots__ = ("root", "start", "struct", "words")

    def __init__(self, struct: Struct, start: int) -> None:
        self.struct = struct
        self.start = start
        self.root: object = _UNRESOLVED
        # Word starts among its new clocks, once recorded (`Attribution._record_all`).
        self.words: int | None = None


def _fresh_at(reference: Id | None, fresh: dict[int, list[_Fresh]],
              starts: dict[int, list[int]]) -> _Fresh | None:
    """The new item of this update that holds a clock, if one does."""
    if reference is None:
        return None
    client_id, clock = reference
    items = fresh.get(client_id)
    if items is None:
        return None
    index = bisect_right(starts[client_id], clock) - 1
    if index >= 0 and clock < items[index].struct.clock + items[index].struct.length:
        return items[index]
    return None


_SPACE = re.compile(r"\s")
_NOT_SPACE = re.compile(r"\S")
# A character above U+FFFF: two UTF-16 units, so two clocks (never whitespace).
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def _word_bits(struct: Struct, left: int) -> tuple[int, int]:
    """The clocks of a struct that a word goes on after, and those that start a word, as bits
    (bit 0: its first clock); `left` is 1 if a word goes on after its left neighbour."""
    string = struct.string
    if string is None:
        return (left, 0) if struct.mark else (0, 0)  # a mark is transparent; the rest bound
    if struct.length == 1 and len(string) == 1:  # a keystroke
        return (0, 0) if string.isspace() else (1, 1 - left)
    if not string:
        return 0, 0
    if struct.length != len(string):
        string = _ASTRAL.sub("xx", string)
    in_word = int(_SPACE.sub("0", _NOT_SPACE.sub("1", string))[::-1], 2)
    return in_word, in_word & ~((in_word << 1) | left)


def _unreadable(origin: str | None) -> None:
    # The engine applied the update all the same (a hand-made encoding it tolerates): the
    # update is stored and relayed, only its deletions go uncounted.
    log.warning("a delete set could not be read for attribution",
                extra={"event": "attribution.unreadable", "origin": origin})


def _add(credits: Credits, origin: str | None, root: str, *, inserted: int = 0,
         deleted: int = 0, words_inserted: int = 0, words_deleted: int = 0) -> None:
    credit = credits.get((origin, root))
    if credit is None:
        credit = credits[(origin, root)] = Credit()
    credit.inserted += inserted
    credit.deleted += deleted
    credit.words_inserted += words_inserted
    credit.words_deleted += words_deleted


def written_words(state: bytes) -> dict[str, int]:
    """Words of a document's encoded state per root, as if one update wrote it all (an
    imported document's, credited to its importer)."""
    credits = Attribution().credit(read_update(state, sys.maxsize, strings=True), None)
    return {root: credit.words_inserted for (_, root), credit in credits.items()}


def surviving_chars(state: bytes) -> dict[str, dict[int, int]]:
    """Characters of the current text per root and Yjs client id, from a document's encoded
    state (what `Doc.get_update()` returns)."""
    index = Attribution(words=False)
    index.load(state)
    return index.surviving()
