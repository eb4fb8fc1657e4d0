"""What an update holds, read before the engine sees it: how deep its plain values nest,
which client ids it writes under, at which clocks, and (for attribution, `crdt.attribution`)
where each struct sits and what it deletes.

A Yjs update can carry JSON-like values (`Y.Map.set(key, {a: {b: …}})`: lib0 "any" content).
The engine decodes those recursively while it *applies* the update, so one 60 kB message
nesting arrays 30,000 deep crashes the process that applies it — the guard's probe included,
before any check of scope or shape can run. This module reads the update's structure with an
explicit stack, in the Yjs v1 encoding, and measures that nesting first.

The clock ranges are read here too because pycrdt's `get_state(update)` lists only clients
whose structs start at clock 0: content that continues another user's clock (the only kind
that integrates once they have written) would go unseen by the client-id binding. (JSON-string
content — embeds, formats — is parsed by the engine with a recursion limit of its own, which
refuses deep input cleanly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from crdt.depth import ShapeRefused
from crdt.protocol import ProtocolError, read_var_uint

_ANY_ARRAY, _ANY_OBJECT = 117, 118

# Content kinds of an Item (the low five bits of its info byte), Yjs v1.
_GC, _DELETED, _JSON, _BINARY, _STRING, _EMBED, _FORMAT, _TYPE, _ANY, _DOC, _SKIP = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
STRING = _STRING
# Shared type refs, Yjs v1: array, map, text, element, fragment, hook, xml text (0 to 6).
_XML_ELEMENT, _XML_HOOK, _LAST_TYPE_REF = 3, 5, 6
# Content that is characters of a text (see `Struct.text`).
_TEXT_KINDS = frozenset((_STRING, _EMBED, _DELETED))


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.lossy = False

    def text(self, errors: str) -> str:
        """A length-prefixed UTF-8 string; decoded with `errors` if it is not strict UTF-8."""
        raw = self.var_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.lossy = True
            return raw.decode("utf-8", errors=errors)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _Truncated
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uint(self) -> int:
        # Inlined byte reads: ids are 53-bit client ids, eight bytes each, in every struct.
        data, pos = self.data, self.pos
        value, shift = 0, 0
        while True:
            if pos >= len(data):
                raise _Truncated
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.pos = pos
                return value
            shift += 7
            if shift > 63:
                raise ShapeRefused("undecodable: varint too long")

    def skip_int(self) -> None:
        """A signed varint: continuation in the high bit of every byte."""
        while self.byte() & 0x80:
            pass

    def skip(self, length: int) -> None:
        if self.pos + length > len(self.data):
            raise _Truncated
        self.pos += length

    def skip_bytes(self) -> None:
        self.skip(self.uint())

    def var_bytes(self) -> bytes:
        length = self.uint()
        start = self.pos
        self.skip(length)
        return self.data[start:self.pos]


# Where an item says it sits: a root by name, a shared type by its id, or nothing (then its
# origin or right origin tells: an item sits in the same parent as its neighbours).
Id = tuple[int, int]


class Struct(NamedTuple):
    """One struct of an update: `length` clocks from `clock` under `client`. `text` is true
    for content that is characters of a text (strings, in UTF-16 units as Yjs counts them;
    embeds, one each; content already deleted, which a sender's own insert-and-delete leaves);
    `known` is false for garbage-collected ranges and skips, whose place is unknown.
    `string` is the text of a string's content, kept only if asked for (`read_update`'s
    `strings`: attribution counts words in it); `mark` is true for a formatting mark
    (ContentFormat), which sits between characters of a text without being one."""
    client: int
    clock: int
    length: int
    text: bool
    known: bool = True
    parent: str | Id | None = None
    origin: Id | None = None
    right_origin: Id | None = None
    string: str | None = None
    mark: bool = False
    # The content kind (`STRING`, ...): what the write guard's quick check trusts.
    kind: int = -1


@dataclass(slots=True)
class UpdateShape:
    # For each client id the update writes under, the clocks it covers (start, end).
    clocks: dict[int, tuple[int, int]] = field(default_factory=dict)
    structs: list[Struct] = field(default_factory=list)
    # The encoded delete set (pycrdt's `IdSet.decode` reads it), empty if the update has none.
    delete_set: bytes = b""
    # A string or root name that is not strict UTF-8 (a lone surrogate, say): read here
    # leniently, but the engine may refuse it, so only the probe may judge such an update.
    lossy: bool = False


def written_clocks(update: bytes, limit: int) -> dict[int, tuple[int, int]]:
    """For each client id the update writes under, the clocks it covers (start, end).

    Raises `ShapeRefused` if a value nests deeper than `limit`, or if the update cannot be
    read as Yjs v1 (the engine would refuse it too, and it is not worth the risk)."""
    return read_update(update, limit).clocks


def read_update(update: bytes, limit: int, *, strings: bool = False) -> UpdateShape:
    """Every struct and the delete set of an update (see `written_clocks` for what raises);
    with `strings`, each string's text too (`Struct.string`)."""
    reader = _Reader(update)
    shape = UpdateShape()
    clocks = shape.clocks
    try:
        for _ in range(reader.uint()):
            structs = reader.uint()
            client = reader.uint()
            start = clock = reader.uint()
            for _ in range(structs):
                struct = _read_struct(reader, client, clock, limit, strings)
                shape.structs.append(struct)
                clock += struct.length
            if structs:
                known = clocks.get(client)
                clocks[client] = ((min(known[0], start), max(known[1], clock)) if known
                                  else (start, clock))
        # Left to the engine to decode: a client may send its whole delete set every time.
        shape.delete_set = update[reader.pos:]
        shape.lossy = reader.lossy
    except _Truncated as exc:
        raise ShapeRefused("undecodable: truncated update") from exc
    return shape


def _read_struct(reader: _Reader, client: int, clock: int, limit: int,
                 strings: bool) -> Struct:
    info = reader.byte()
    kind = info & 0x1F
    if kind in (_GC, _SKIP):
        return Struct(client, clock, reader.uint(), text=False, known=False, kind=kind)
    has_origin, has_right_origin = info & 0x80, info & 0x40
    origin = (reader.uint(), reader.uint()) if has_origin else None
    right_origin = (reader.uint(), reader.uint()) if has_right_origin else None
    parent: str | Id | None = None
    if not has_origin and not has_right_origin:
        if reader.uint() == 1:
            parent = reader.text(errors="replace")  # a root, by name
        else:
            parent = (reader.uint(), reader.uint())  # a type, by id
        if info & 0x20:
            reader.skip_bytes()  # the key in the parent map
    if kind == _STRING:
        string = _read_string(reader)
        # Clocks count UTF-16 units, as Yjs does.
        length = len(string.encode("utf-16-le", errors="surrogatepass")) // 2
        return Struct(client, clock, length, True, True, parent, origin, right_origin,
                      string if strings else None, kind=kind)
    length = _skip_content(reader, kind, limit)
    return Struct(client, clock, length, kind in _TEXT_KINDS, True, parent, origin,
                  right_origin, None, kind == _FORMAT, kind)


def _read_string(reader: _Reader) -> str:
    try:
        return reader.text(errors="surrogatepass")
    except UnicodeDecodeError as exc:
        raise ShapeRefused("undecodable: a string is not UTF-8") from exc


def _skip_content(reader: _Reader, kind: int, limit: int) -> int:
    """Read past an item's content; return its length in clocks."""
    if kind == _DELETED:
        return reader.uint()
    if kind == _JSON:
        count = reader.uint()
        for _ in range(count):
            reader.skip_bytes()
        return count
    if kind in (_BINARY, _EMBED):
        reader.skip_bytes()
        return 1
    if kind == _FORMAT:
        reader.skip_bytes()
        reader.skip_bytes()
        return 1
    if kind == _TYPE:
        type_ref = reader.uint()
        if type_ref > _LAST_TYPE_REF:
            # yrs takes and re-encodes such a type; Yjs cannot load a document holding one.
            raise ShapeRefused(f"undecodable: unknown shared type {type_ref}")
        if type_ref in (_XML_ELEMENT, _XML_HOOK):
            reader.skip_bytes()  # the element's name
        return 1
    if kind == _ANY:
        count = reader.uint()
        for _ in range(count):
            _skip_any(reader, limit)
        return count
    if kind == _DOC:
        reader.skip_bytes()  # guid
        _skip_any(reader, limit)
        return 1
    raise ShapeRefused(f"undecodable: unknown content kind {kind}")


def _skip_any(reader: _Reader, limit: int) -> None:
    """One lib0 "any" value; containers are walked with a stack of frames, each one whether
    it is an object (every value preceded by its key) and how many values it has left."""
    frames = [[False, 1]]
    while frames:
        frame = frames[-1]
        if frame[1] == 0:
            frames.pop()
            continue
        frame[1] -= 1
        if frame[0]:
            reader.skip_bytes()  # the key
        tag = reader.byte()
        if tag in (127, 126, 121, 120):  # undefined, null, false, true
            continue
        if tag == 125:
            reader.skip_int()
        elif tag == 124:
            reader.skip(4)
        elif tag in (123, 122):
            reader.skip(8)
        elif tag in (119, 116):  # string, bytes
            reader.skip_bytes()
        elif tag in (_ANY_ARRAY, _ANY_OBJECT):
            frames.append([tag == _ANY_OBJECT, reader.uint()])
            if len(frames) - 1 > limit:
                raise ShapeRefused(f"too-deep: values may nest at most {limit} levels deep")
        else:
            raise ShapeRefused(f"undecodable: unknown value type {tag}")


def delete_ranges(data: bytes, *, whole: bool = False) -> Iterator[tuple[int, int, int]]:
    """The (client id, clock, length) ranges of an encoded delete set, read lazily here: for
    a keystroke's few ranges cheaper than the engine's decoder. Raises `ProtocolError` on
    bytes that are no delete set, and with `whole` on bytes left after it too."""
    position = 0
    clients, position = read_var_uint(data, position)
    for _ in range(clients):
        client_id, position = read_var_uint(data, position)
        ranges, position = read_var_uint(data, position)
        for _ in range(ranges):
            clock, position = read_var_uint(data, position)
            length, position = read_var_uint(data, position)
            yield client_id, clock, length
    if whole and position != len(data):
        raise ProtocolError("bytes after the delete set")
