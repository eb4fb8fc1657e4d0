"""Valid y-websocket messages as hypothesis strategies, the mutations applied to them, and what
the server must answer to each valid one.

A *step* is one thing an attacker connection does: a message spec (what to make with pycrdt:
an update of rich text, a deep or wide tree, maps, arrays, embeds, formatting, deletions, a whole
state, a state vector, awareness, query-awareness, an ignored type, another user's client id...)
and a list of mutations (bit flips, truncation, splicing, varint corruption, lengths that lie).
Specs are small frozen dataclasses, so hypothesis shrinks them and prints a failing example as
something a reader can rebuild by hand.

The `Builder` turns steps into bytes with real pycrdt documents ("writers", fresh for every
example, three per attacker), and says for each unmutated message what the server must do with
it, from facts the test knows independently of the server's code: how deep the writer nested
what it inserted, how big the message is, which clocks of the writer the server already has
(tracked from what the server accepted), whose client id it writes under.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText, write_var_uint

from tests.support.wire import read_uint, sync

# The server's bounds this corpus aims at (README: WIDEN_MAX_DOCUMENT_DEPTH, default 128; a new
# nested array longer than 4096 items is refused rather than walked, crdt/depth.py).
MAX_DEPTH = 128
MAX_NEW_ARRAY_ITEMS = 4096
WRITERS = 3  # per attacker and example
SECTIONS = 2  # section roots the corpus writes rich text into
# Clocks an impersonation writes under its victim's id: far beyond what the victim will use.
IMPERSONATION_LENGTH = 4000

# --- message specs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Para:
    """A paragraph with text inserted among a section's paragraphs."""
    section: int
    at: int
    text: str
    bold: bool


@dataclass(frozen=True)
class Type:
    """Characters typed into the first text of an existing paragraph (or a new one)."""
    section: int
    paragraph: int
    at: int
    text: str


@dataclass(frozen=True)
class Tower:
    """`depth` elements inside each other in a section; the innermost gets `width` text
    children and maybe some text. Deepest node: depth (+1 with any child)."""
    section: int
    depth: int
    width: int
    text: bool


@dataclass(frozen=True)
class Notes:
    """Text inserted into the plain-text root `notes`, maybe with formatting attributes."""
    at: int
    text: str
    mark: str | None


@dataclass(frozen=True)
class Format:
    at: int
    length: int
    mark: str


@dataclass(frozen=True)
class Embed:
    """An embed in `notes`: a JSON value, or a shared Map or Text (one level down)."""
    at: int
    kind: str


@dataclass(frozen=True)
class MapSet:
    key: str
    value: Any


@dataclass(frozen=True)
class Chain:
    """`depth` maps (or arrays) inside each other, the first inserted into the root array
    `list` or (`under` "meta") set as an entry of the root map `meta`: deepest at `depth`."""
    key: str
    depth: int
    kind: str
    under: str


@dataclass(frozen=True)
class WideArray:
    """A new nested array of `items` values, inserted into the root array `list` or (`under`
    "meta") set as an entry of the root map `meta`, in one block as Yjs's
    `Y.Array.insert(0, [...])` makes it (pycrdt would insert them one by one, and its commit
    then takes a third of a second)."""
    key: str
    items: int
    under: str


@dataclass(frozen=True)
class ListInsert:
    at: int
    kind: str


@dataclass(frozen=True)
class Delete:
    """Delete a range of `target` (`notes`, `list`, a section's paragraphs) or a `meta` key."""
    target: str
    at: int
    length: int


Edit = (Para | Type | Tower | Notes | Format | Embed | MapSet | Chain | WideArray | ListInsert
        | Delete)


@dataclass(frozen=True)
class Update:
    """The incremental update one transaction of edits makes (sync message type 2)."""
    writer: int
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Full:
    """The writer's whole state as a sync step 2: self-contained."""
    writer: int


@dataclass(frozen=True)
class RawDelete:
    """A delete set over a clock range of the writer's own content, at any offset (it splits
    items wherever it lands), as a structless update."""
    writer: int
    at: int
    length: int


@dataclass(frozen=True)
class CatchUp:
    """Local only: `writer` applies `other`'s state, so its next edits have origins in it."""
    writer: int
    other: int


@dataclass(frozen=True)
class Step1:
    """A sync step 1: the writer's state vector, or made-up entries (client, clock)."""
    writer: int | None
    entries: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Aware:
    """An awareness update; `who` picks the id: 0-5 the attacker's own, 6 the bystander's,
    7 the watcher's, anything else used as it is."""
    entries: tuple[tuple[int, int, Any], ...]


@dataclass(frozen=True)
class Query:
    pass


@dataclass(frozen=True)
class Other:
    """A message type the server ignores (2 is auth, the server's to send)."""
    message_type: int
    payload: bytes


@dataclass(frozen=True)
class Impersonate:
    """New content under a client id another user owns (the bystander's, the watcher's, or
    another attacker user's): the server must refuse it with 4403 foreign-client-id. Written
    from clock 0, or (`continues`, another user's claimed id only) from the clock its owner
    stopped at."""
    victim: int
    continues: bool


@dataclass(frozen=True)
class Resend:
    """A whole state that carries another user's content the server already has (as a
    reconnecting client's step 2 does) plus new edits of its own: accepted."""
    claim: int
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Collide:
    """A writer that reuses the client id of one of this attacker's writers from an earlier
    example, with different content at the same clocks. Nothing is predicted; the documents
    must still agree at the end."""
    back: int
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Huge:
    """An update bigger than the server's message limit."""
    extra: int


Message = (Update | Full | RawDelete | CatchUp | Step1 | Aware | Query | Other | Impersonate
           | Resend | Collide | Huge)

# --- mutations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BitFlip:
    at: int
    bit: int


@dataclass(frozen=True)
class SetByte:
    at: int
    value: int


@dataclass(frozen=True)
class Truncate:
    at: int


@dataclass(frozen=True)
class InsertBytes:
    at: int
    data: bytes


@dataclass(frozen=True)
class DeleteBytes:
    at: int
    count: int


@dataclass(frozen=True)
class Splice:
    """This message's head on another message's tail (one built earlier in the example)."""
    other: int
    at: int
    other_at: int


@dataclass(frozen=True)
class Varint:
    """`how`: overlong (a run of continuation bytes), huge (a value far beyond the message),
    runon (a final byte made a continuation), cut (the message ends inside a varint)."""
    at: int
    how: str


@dataclass(frozen=True)
class LengthLie:
    """A length or count field told wrong by `delta`: the sync payload length, the update's
    client count, its first struct count, or an awareness state's JSON length."""
    field: str
    delta: int


@dataclass(frozen=True)
class Garbage:
    data: bytes


Mutation = (BitFlip | SetByte | Truncate | InsertBytes | DeleteBytes | Splice | Varint
            | LengthLie | Garbage)


@dataclass(frozen=True)
class Step:
    attacker: int
    message: Message
    mutations: tuple[Mutation, ...]


# --- strategies ------------------------------------------------------------------------------

_MARKS = ("bold", "italic", "link", "code")
_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
                          st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
_JSON = st.recursive(_JSON_SCALARS,
                     lambda inner: st.one_of(st.lists(inner, max_size=3),
                                             st.dictionaries(st.text(max_size=6), inner,
                                                             max_size=3)),
                     max_leaves=8)
# Depths around the bound, more shallow ones, and a few far beyond.
_DEPTHS = st.one_of(st.integers(1, 6), st.integers(1, 6), st.integers(MAX_DEPTH - 3,
                                                                        MAX_DEPTH + 3),
                    st.sampled_from([MAX_DEPTH * 2, MAX_DEPTH * 8]))
_POSITION = st.integers(0, 1 << 16)


def _weighted(choices: list[tuple[int, st.SearchStrategy[Any]]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each picked `weight` times in 100 (one_of picks uniformly, and
    would not let updates dominate as they do in real traffic); shrinks towards the first."""
    kinds = [index for index, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(kinds).flatmap(lambda index: choices[index][1])


def _texts(known_bugs: bool) -> st.SearchStrategy[str]:
    """Text as users type it. Astral characters (surrogate pairs in Yjs) only with known bugs:
    a deletion of half of one is a known server bug (tests/trust/test_ws_fuzz_findings.py),
    which would otherwise end most long runs."""
    alphabet = st.characters(codec="utf-8", max_codepoint=0x10FFFF if known_bugs else 0xFFFF,
                             exclude_categories=["Cs"])
    return st.text(alphabet, min_size=1, max_size=24)


def _edits(known_bugs: bool) -> st.SearchStrategy[tuple[Edit, ...]]:
    text = _texts(known_bugs)
    under = st.sampled_from(["list", "meta"])
    section = st.integers(0, SECTIONS - 1)
    key = st.sampled_from("abcdefgh")
    weighted: list[tuple[int, st.SearchStrategy[Edit]]] = [
        (5, st.builds(Para, section, _POSITION, text, st.booleans())),
        (5, st.builds(Type, section, st.integers(0, 8), _POSITION, text)),
        (2, st.builds(Tower, section, _DEPTHS, st.one_of(st.just(0), st.integers(1, 3),
                                                         st.just(0), st.integers(200, 1000)),
                      st.booleans())),
        (6, st.builds(Notes, _POSITION, text, st.one_of(st.none(), st.sampled_from(_MARKS)))),
        (3, st.builds(Format, _POSITION, st.integers(1, 12), st.sampled_from(_MARKS))),
        (2, st.builds(Embed, _POSITION, st.sampled_from(["json", "map", "text"]))),
        (4, st.builds(MapSet, key, _JSON)),
        (2, st.builds(Chain, key, _DEPTHS, st.sampled_from(["map", "array"]), under)),
        (1, st.builds(WideArray, key, st.sampled_from([1, 100, MAX_NEW_ARRAY_ITEMS,
                                                       MAX_NEW_ARRAY_ITEMS + 1]), under)),
        (3, st.builds(ListInsert, _POSITION, st.sampled_from(["json", "map", "text", "array"]))),
        (4, st.builds(Delete, st.sampled_from(["notes", "list", "section0", "section1", "meta"]),
                      _POSITION, st.integers(1, 6))),
    ]
    edit = _weighted(weighted)
    return st.lists(edit, min_size=1, max_size=4).map(tuple)


def messages(known_bugs: bool = False) -> st.SearchStrategy[Message]:
    """`known_bugs`: also make the shapes that trigger known, not yet fixed server bugs."""
    writer = st.integers(0, WRITERS - 1)
    edits = _edits(known_bugs)
    state = st.one_of(st.none(), st.dictionaries(st.text(max_size=6), _JSON, max_size=4),
                      st.fixed_dictionaries({"user": st.fixed_dictionaries({
                          "name": st.text(max_size=10),
                          "color": st.sampled_from(["#fa0", "#12ab34", "url(//x)", "red", 5])}),
                          "cursor": _JSON}))
    # How often each kind is sent, out of 100 (a kind repeated is a kind weighted).
    weighted: list[tuple[int, st.SearchStrategy[Message]]] = [
        (35, st.builds(Update, writer, edits)),
        (6, st.builds(Full, writer)),
        (5, st.builds(RawDelete, writer, st.integers(0, 64), st.integers(1, 8))),
        (4, st.builds(CatchUp, writer, writer)),
        (8, st.builds(Step1, st.one_of(st.none(), writer),
                      st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32)),
                               max_size=3).map(tuple))),
        (10, st.builds(Aware, st.lists(st.tuples(st.integers(0, 9), st.integers(0, 2**32),
                                                 state), min_size=1, max_size=3).map(tuple))),
        (4, st.builds(Query)),
        (5, st.builds(Other, st.sampled_from([2, 4, 7, 127, 128, 300]),
                      st.binary(max_size=16))),
        (5, st.builds(Impersonate, st.integers(0, 3), st.booleans())),
        (4, st.builds(Resend, st.integers(0, 3), edits)),
        (4, st.builds(Collide, st.integers(0, 7), edits)),
        (1, st.builds(Huge, st.integers(1, 64))),
    ]
    return _weighted(weighted)


def mutations() -> st.SearchStrategy[tuple[Mutation, ...]]:
    at = st.integers(0, 1 << 16)
    mutation = _weighted([
        (6, st.builds(BitFlip, at, st.integers(0, 7))),
        (2, st.builds(SetByte, at, st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))),
        (1, st.builds(Truncate, at)),
        (1, st.builds(InsertBytes, at, st.binary(min_size=1, max_size=8))),
        (1, st.builds(DeleteBytes, at, st.integers(1, 8))),
        (1, st.builds(Splice, st.integers(0, 63), at, at)),
        (1, st.builds(Varint, at, st.sampled_from(["overlong", "huge", "runon", "cut"]))),
        (2, st.builds(LengthLie, st.sampled_from(["outer", "count", "structs", "json"]),
                      st.sampled_from([-3, -2, -1, 1, 2, 3, 2**31, 2**40]))),
        (1, st.builds(Garbage, st.binary(min_size=1, max_size=48))),
    ])
    # Half the messages go out valid (their answers are predicted), the rest mostly with one
    # mutation. Each message that closes its connection costs a reconnection.
    return _weighted([(50, st.just(())),
                      (35, st.lists(mutation, min_size=1, max_size=1).map(tuple)),
                      (15, st.lists(mutation, min_size=2, max_size=4).map(tuple))])


def steps(attackers: int, known_bugs: bool = False) -> st.SearchStrategy[list[Step]]:
    """An example: enough steps that every attacker connection has a few to pipeline."""
    step = st.builds(Step, st.integers(0, attackers - 1), messages(known_bugs), mutations())
    return st.lists(step, min_size=6, max_size=40)


# --- building --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What the server must do with a message: accept it (`code` None), or close with `code`
    and a reason starting with one of `words`."""
    code: int | None
    words: tuple[str, ...] = ()


ACCEPT = Expect(None)
SHAPE_REFUSED = Expect(1003, ("too-deep", "too-big"))
PENDING_REFUSED = Expect(1003, ("undecodable",))


@dataclass
class Built:
    """One step made into bytes (`data` None: a local step, nothing is sent)."""
    step: Step
    label: str
    data: bytes | None
    mutated: bool = False
    expect: Expect | None = None  # None: nothing predicted
    # For the runtime check of an update: the writer's client id, its clock before the update,
    # and whether it inserts anything (a delete-only update has no clock to wait for).
    client: int | None = None
    clock_before: int = 0
    new_structs: bool = False
    shape_ok: bool = True
    # Clocks this message carries per writer client id (what the server holds once accepted),
    # and for an update, the clocks of other writers whose content its writer had applied
    # (its new items may have their origins there).
    carries: dict[int, int] = field(default_factory=dict)
    needs: dict[int, int] = field(default_factory=dict)
    # The message is a whole state, which carries every dependency with it.
    whole: bool = False


@dataclass
class _Writer:
    doc: Doc[Any]


class Builder:
    """Turns steps into messages for one document. Lives in the thread hypothesis runs in
    (pycrdt documents stay in the thread that made them)."""

    def __init__(self, seed: str, *, sections: list[str], max_message_bytes: int,
                 victims: list[list[int]], claims: list[bytes],
                 clean_awareness_ids: tuple[int, int]) -> None:
        """`victims[a]`: client ids owned by other users than attacker `a`'s; `claims`:
        updates users made under their own ids (content the server has);
        `clean_awareness_ids`: the bystander's and the watcher's."""
        self._rng = random.Random(seed)
        self.sections = sections
        self.max_message_bytes = max_message_bytes
        self.victims = victims
        self.claims = claims
        self.claim_of: dict[int, bytes] = {}  # a claimed client id: the update that claimed it
        self.clean_awareness_ids = clean_awareness_ids
        self._used_ids: set[int] = set()
        self._earlier_ids: dict[int, list[int]] = {}

    def fresh_id(self) -> int:
        while True:
            client_id = self._rng.getrandbits(32)
            if client_id > 0 and client_id not in self._used_ids:
                self._used_ids.add(client_id)
                return client_id

    def build(self, steps: list[Step]) -> list[Built]:
        """Every step of one example, in order; fresh writers for each attacker."""
        writers: dict[tuple[int, int], _Writer] = {}
        built: list[Built] = []
        for step in steps:
            item = self._build_one(step, writers, built)
            built.append(item)
        for (attacker, _), writer in writers.items():
            self._earlier_ids.setdefault(attacker, []).append(writer.doc.client_id)
        return built

    def _writer(self, writers: dict[tuple[int, int], _Writer], attacker: int,
                index: int) -> _Writer:
        if (attacker, index) not in writers:
            writers[attacker, index] = _Writer(Doc(client_id=self.fresh_id()))
        return writers[attacker, index]

    def _build_one(self, step: Step, writers: dict[tuple[int, int], _Writer],
                   earlier: list[Built]) -> Built:
        message = step.message
        attacker = step.attacker
        label = type(message).__name__
        item: Built
        match message:
            case Update(index, edits):
                writer = self._writer(writers, attacker, index)
                before = writer.doc.get_state()
                clock_before = _own_clock(writer.doc)
                self._apply(writer, edits)
                update = writer.doc.get_update(before)
                label += ":" + "+".join(sorted({type(e).__name__ for e in edits}))
                held = self._carries(writers, attacker, writer)
                own = held.pop(writer.doc.client_id, 0)
                # An update that inserts nothing carries no clocks: accepted, it tells nothing
                # of what the server holds (its writer's earlier content may have been refused).
                item = Built(step, label, sync(2, update), client=writer.doc.client_id,
                             clock_before=clock_before, new_structs=own > clock_before,
                             shape_ok=self._shape_ok(writer.doc),
                             carries={writer.doc.client_id: own} if own > clock_before else {},
                             needs=held)
            case Full(index):
                writer = self._writer(writers, attacker, index)
                item = Built(step, label, sync(1, writer.doc.get_update()),
                             client=writer.doc.client_id, whole=True,
                             shape_ok=self._shape_ok(writer.doc),
                             carries=self._carries(writers, attacker, writer))
            case RawDelete(index, at, length):
                writer = self._writer(writers, attacker, index)
                clock = _own_clock(writer.doc)
                update = b"\x00\x00"  # nothing to delete yet: an empty update
                if clock:
                    # Only what exists: a deletion of clocks still to come would hide what
                    # later arrives there from the guard (deleted on arrival, never walked).
                    start = at % clock
                    update = b"\x00" + _delete_set(writer.doc.client_id, start,
                                                   max(1, min(length, clock - start)))
                    writer.doc.apply_update(update)
                item = Built(step, label, sync(2, update), expect=ACCEPT)
            case CatchUp(index, other_index):
                writer = self._writer(writers, attacker, index)
                other = self._writer(writers, attacker, other_index)
                if other is not writer:
                    writer.doc.apply_update(other.doc.get_update(writer.doc.get_state()))
                item = Built(step, label, None)
            case Step1(index, entries):
                if index is not None:
                    state = self._writer(writers, attacker, index).doc.get_state()
                else:
                    state = write_var_uint(len(entries)) + b"".join(
                        write_var_uint(c) + write_var_uint(k) for c, k in entries)
                item = Built(step, label, sync(0, state), expect=ACCEPT)
            case Aware(entries):
                item = Built(step, label, self._awareness(attacker, entries), expect=ACCEPT)
            case Query():
                item = Built(step, label, b"\x03", expect=ACCEPT)
            case Other(message_type, payload):
                item = Built(step, label, write_var_uint(message_type) + payload, expect=ACCEPT)
            case Impersonate(victim, continues):
                victims = self.victims[attacker]
                doc: Doc[Any] = Doc(client_id=victims[victim % len(victims)])
                claim = self.claim_of.get(doc.client_id) if continues else None
                if claim is not None:
                    doc.apply_update(claim)
                before = doc.get_state()
                doc.get("notes", type=Text).insert(0, "i" * IMPERSONATION_LENGTH)
                item = Built(step, label, sync(2, doc.get_update(before)),
                             expect=Expect(4403, ("foreign-client-id",)))
            case Resend(claim, edits):
                writer = _Writer(Doc(client_id=self.fresh_id()))
                writer.doc.apply_update(self.claims[claim % len(self.claims)])
                self._apply(writer, edits)
                item = Built(step, label, sync(1, writer.doc.get_update()), whole=True,
                             shape_ok=self._shape_ok(writer.doc))
            case Collide(back, edits):
                ids = self._earlier_ids.get(attacker) or [self.fresh_id()]
                writer = _Writer(Doc(client_id=ids[back % len(ids)]))
                self._apply(writer, edits)
                item = Built(step, label, sync(2, writer.doc.get_update()))
            case Huge(extra):
                writer = self._writer(writers, attacker, 0)
                before = writer.doc.get_state()
                writer.doc.get("notes", type=Text).insert(0, "h" * (self.max_message_bytes
                                                                    + extra))
                item = Built(step, label, sync(2, writer.doc.get_update(before)),
                             expect=Expect(1009, ("too-big",)))
        if item.data is not None:
            self._predict(item)
            self._mutate(item, earlier)
        return item

    def _predict(self, item: Built) -> None:
        """What the server must answer as far as the message alone tells (`expectation`
        completes it for a writer's updates with what the server accepted so far)."""
        assert item.data is not None
        if len(item.data) > self.max_message_bytes:
            item.expect = Expect(1009, ("too-big",))
        elif isinstance(item.step.message, Resend):
            item.expect = ACCEPT if item.shape_ok else SHAPE_REFUSED

    def _mutate(self, item: Built, earlier: list[Built]) -> None:
        assert item.data is not None
        if not item.step.mutations:
            return
        others = [b.data for b in earlier if b.data is not None] + self.claims
        data = bytearray(item.data)
        for mutation in item.step.mutations:
            data = _apply_mutation(data, mutation, others)
        names = "+".join(type(m).__name__ for m in item.step.mutations)
        item.label = f"{item.label}~{names}"
        if bytes(data) != item.data:
            item.data = bytes(data)
            item.mutated = True
            item.expect = None

    def _carries(self, writers: dict[tuple[int, int], _Writer], attacker: int,
                 writer: _Writer) -> dict[int, int]:
        """The clock of each of this attacker's writers that `writer`'s document holds."""
        ids = {w.doc.client_id for (a, _), w in writers.items() if a == attacker}
        state = _decode_state(writer.doc.get_state())
        return {client: clock for client, clock in state.items() if client in ids}

    def _awareness(self, attacker: int, entries: tuple[tuple[int, int, Any], ...]) -> bytes:
        payload = write_var_uint(len(entries))
        for who, clock, state in entries:
            if who < 6:
                client_id = 1_000_000 * (attacker + 1) + who
            elif who < 8:
                client_id = self.clean_awareness_ids[who - 6]
            else:
                client_id = who
            raw = _json(state).encode()
            payload += write_var_uint(client_id) + write_var_uint(clock) + write_var_uint(
                len(raw)) + raw
        return b"\x01" + write_var_uint(len(payload)) + payload

    def _apply(self, writer: _Writer, edits: tuple[Edit, ...]) -> None:
        """Make the edits in one transaction (wide arrays right after it, as bytes)."""
        doc = writer.doc
        with doc.transaction():
            for edit in edits:
                if not isinstance(edit, WideArray):
                    self._edit(doc, edit)
        for edit in edits:
            if isinstance(edit, WideArray):  # bytes of its own: not inside a transaction
                doc.apply_update(_wide_array(doc.client_id, _own_clock(doc), edit))

    def _shape_ok(self, doc: Doc[Any]) -> bool:
        """Whether everything `doc` shows nests at most MAX_DEPTH deep, with no nested array
        longer than MAX_NEW_ARRAY_ITEMS: what the server requires of what an update adds.
        Walked here, in the test's own terms, rather than tracked from the edits: an edit may
        delete what another in the same update inserted, and deleted types are not checked."""
        stack: list[tuple[Any, int]] = [(child, 1) for child in _root_children(doc,
                                                                               self.sections)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                return False
            if isinstance(node, Array) and len(node) > MAX_NEW_ARRAY_ITEMS:
                return False
            stack.extend((child, depth + 1) for child in _children(node))
        return True

    def _section(self, doc: Doc[Any], index: int) -> XmlFragment:
        section: XmlFragment = doc.get(self.sections[index % len(self.sections)],
                                       type=XmlFragment)
        return section

    def _edit(self, doc: Doc[Any], edit: Edit) -> None:
        match edit:
            case Para(section, at, text, bold):
                fragment = self._section(doc, section)
                index = at % (len(fragment.children) + 1)
                fragment.children.insert(index, XmlElement("paragraph", {}, [XmlText(text)]))
                if bold:
                    inserted = fragment.children[index]
                    assert isinstance(inserted, XmlElement)
                    first = inserted.children[0]
                    assert isinstance(first, XmlText)
                    first.format(0, len(first), {"bold": True})
                return
            case Type(section, paragraph, at, text):
                fragment = self._section(doc, section)
                target = _first_text(fragment, paragraph)
                if target is None:
                    fragment.children.append(XmlElement("paragraph", {}, [XmlText(text)]))
                else:
                    target.insert(_pick(_boundaries(target), at), text)
                return
            case Tower(section, depth, width, text):
                parent: XmlFragment | XmlElement = self._section(doc, section)
                for level in range(depth):  # one level at a time: pycrdt recurses on prelims
                    child = XmlElement("div", {"class": "t"} if level % 7 == 0 else {})
                    parent.children.append(child)
                    parent = child
                for _ in range(width):
                    parent.children.append(XmlText("w"))
                if text:
                    parent.children.append(XmlText("deep words"))
                return
            case Notes(at, text, mark):
                notes = doc.get("notes", type=Text)
                notes.insert(_pick(_boundaries(notes), at), text, {mark: True} if mark else None)
                return
            case Format(at, length, mark):
                notes = doc.get("notes", type=Text)
                start, stop = _span(_boundaries(notes), at, length)
                if stop > start:
                    notes.format(start, stop, {mark: True})
                return
            case Embed(at, kind):
                notes = doc.get("notes", type=Text)
                value: Any = {"json": {"image": "x.png"}, "map": Map({"alt": "a"}),
                              "text": Text("embedded")}[kind]
                notes.insert_embed(_pick(_boundaries(notes), at), value)
                return
            case MapSet(key, value):
                doc.get("meta", type=Map)[key] = value
                return
            case Chain(key, depth, kind, under):
                outer: Map[Any] | Array[Any] = Map() if kind == "map" else Array()
                if under == "meta":
                    # A key of its own: of two values set under one key one is hidden at once,
                    # and a hidden type is not where the depth bound looks.
                    key = f"{key}{doc.client_id}"
                    doc.get("meta", type=Map)[key] = outer
                    node = doc.get("meta", type=Map)[key]
                else:
                    items = doc.get("list", type=Array)
                    items.insert(0, outer)
                    node = items[0]
                for _ in range(depth - 1):
                    if isinstance(node, Map):
                        node["c"] = Map()
                        node = node["c"]
                    else:
                        node.append(Array())
                        node = node[len(node) - 1]
                return
            case ListInsert(at, kind):
                items = doc.get("list", type=Array)
                value = {"json": "v", "map": Map({"q": "r"}), "text": Text("t"),
                         "array": Array([1, 2])}[kind]
                items.insert(at % (len(items) + 1), value)
                return
            case Delete(target, at, length):
                _delete(doc, target, at, length, self)
                return
        raise AssertionError(f"unknown edit {edit!r}")


def _shared(values: Any) -> list[Any]:
    return [v for v in values if isinstance(v, Array | Map | Text | XmlElement | XmlFragment
                                            | XmlText)]


def _root_children(doc: Doc[Any], sections: list[str]) -> list[Any]:
    """The shared types directly inside the roots the corpus writes."""
    found: list[Any] = []
    for name in sections:
        found += _shared(doc.get(name, type=XmlFragment).children)
    found += _shared(chunk for chunk, _ in doc.get("notes", type=Text).diff())
    found += _shared(doc.get("meta", type=Map).values())
    found += _shared(doc.get("list", type=Array))
    return found


def _children(node: Any) -> list[Any]:
    if isinstance(node, Map):
        return _shared(node.values())
    if isinstance(node, Array):
        return _shared(node)
    if isinstance(node, XmlElement):
        # pycrdt types the attributes view's __iter__ as returning an Iterable.
        return (_shared(value for _, value in node.attributes.__iter__())
                + _shared(node.children))
    if isinstance(node, XmlFragment):
        return _shared(node.children)
    return _shared(chunk for chunk, _ in node.diff())


def _first_text(fragment: XmlFragment, paragraph: int) -> XmlText | None:
    paragraphs = [c for c in fragment.children if isinstance(c, XmlElement)]
    if not paragraphs:
        return None
    node = paragraphs[paragraph % len(paragraphs)]
    texts = [c for c in node.children if isinstance(c, XmlText)]
    return texts[0] if texts else None


def _delete(doc: Doc[Any], target: str, at: int, length: int, builder: Builder) -> None:
    if target == "meta":
        meta = doc.get("meta", type=Map)
        keys = sorted(meta.keys())
        if keys:
            del meta[keys[at % len(keys)]]
        return
    sequence: Text | Array[Any] | XmlFragment
    if target == "notes":
        notes = doc.get("notes", type=Text)
        start, stop = _span(_boundaries(notes), at, length)
        if stop > start:
            del notes[start:stop]
        return
    if target == "list":
        items: Array[Any] = doc.get("list", type=Array)
        sequence, size = items, len(items)
    else:
        sequence = builder._section(doc, int(target[-1]))
        size = len(sequence.children)
    if not size:
        return
    start = at % size
    stop = min(size, start + length)
    if isinstance(sequence, XmlFragment):
        del sequence.children[start:stop]
    else:
        del sequence[start:stop]


def _boundaries(text: Text | XmlText) -> list[int]:
    """The offsets pycrdt takes for `text` that fall between characters or embeds: pycrdt
    counts UTF-8 bytes, an embed as one, and an offset inside a character breaks it."""
    offsets = [0]
    for chunk, _attrs in text.diff():
        if isinstance(chunk, str):
            for char in chunk:
                offsets.append(offsets[-1] + len(char.encode()))
        else:
            offsets.append(offsets[-1] + 1)
    return offsets


def _pick(offsets: list[int], at: int) -> int:
    return offsets[at % len(offsets)]


def _span(offsets: list[int], at: int, length: int) -> tuple[int, int]:
    """A range of up to `length` characters starting at the `at`-th (modulo), as offsets."""
    if len(offsets) < 2:
        return 0, 0
    first = at % (len(offsets) - 1)
    return offsets[first], offsets[min(len(offsets) - 1, first + length)]


def _wide_array(client: int, clock: int, edit: WideArray) -> bytes:
    """The update inserting a new Y.Array of `items` times `true` at the start of the root
    array `list`, or setting it as `meta[key]` (a key of its own, as for `Chain`): an array
    item, then one Any item of all the values inside it."""
    def string(value: str) -> bytes:
        return write_var_uint(len(value.encode())) + value.encode()

    if edit.under == "meta":
        where = bytes([0x27]) + write_var_uint(1) + string("meta") + string(
            f"{edit.key}{client}.{clock}")
    else:
        where = bytes([0x07]) + write_var_uint(1) + string("list")
    return (write_var_uint(1) + write_var_uint(2) + write_var_uint(client) + write_var_uint(clock)
            + where + write_var_uint(0)  # content Type, type ref 0: Y.Array
            + bytes([0x08]) + write_var_uint(0) + write_var_uint(client) + write_var_uint(clock)
            + write_var_uint(edit.items) + b"\x78" * edit.items  # content Any, each `true`
            + write_var_uint(0))  # no deletions


def _own_clock(doc: Doc[Any]) -> int:
    return _decode_state(doc.get_state()).get(doc.client_id, 0)


def _decode_state(state: bytes) -> dict[int, int]:
    count, pos = read_uint(state, 0)
    clocks = {}
    for _ in range(count):
        client, pos = read_uint(state, pos)
        clock, pos = read_uint(state, pos)
        clocks[client] = clock
    return clocks


def _delete_set(client: int, start: int, count: int) -> bytes:
    return (write_var_uint(1) + write_var_uint(client) + write_var_uint(1)
            + write_var_uint(start) + write_var_uint(count))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _apply_mutation(data: bytearray, mutation: Mutation, others: list[bytes]) -> bytearray:
    size = len(data)
    match mutation:
        case BitFlip(at, bit):
            if size:
                data[at % size] ^= 1 << bit
        case SetByte(at, value):
            if size:
                data[at % size] = value
        case Truncate(at):
            data = data[:at % (size + 1)]
        case InsertBytes(at, extra):
            data[at % (size + 1):at % (size + 1)] = extra
        case DeleteBytes(at, count):
            if size:
                del data[at % size:at % size + count]
        case Splice(other, at, other_at):
            tail = others[other % len(others)] if others else bytes(data)
            data = data[:at % (size + 1)] + bytearray(tail[other_at % (len(tail) + 1):])
        case Varint(at, how):
            index = at % (size + 1)
            if how == "overlong":
                data[index:index] = b"\xff" * 9
            elif how == "huge":
                data[index:index + 1] = write_var_uint(2**40)
            elif how == "runon" and index < size:
                data[index] |= 0x80
            else:
                data = data[:index] + b"\xff\xff"
        case LengthLie(which, delta):
            data = _lie(data, which, delta)
        case Garbage(garbage):
            data = bytearray(garbage)
    return data


def _lie(data: bytearray, which: str, delta: int) -> bytearray:
    """Rewrite one length or count field; leave the message as it is if it has no such field."""
    try:
        message_type, pos = read_uint(data, 0)
        if message_type == 0:
            _, pos = read_uint(data, pos)
        elif message_type != 1:
            return data
        targets = [pos]  # the payload length
        _, payload = read_uint(data, pos)
        count, after_count = read_uint(data, payload)
        targets.append(payload)  # clients, entries
        if message_type == 0:
            targets.append(after_count)  # the first client's struct count
        elif count:
            _, p = read_uint(data, after_count)
            _, p = read_uint(data, p)
            targets.append(p)  # the first awareness state's JSON length
        field_index = {"outer": 0, "count": 1, "structs": 2, "json": 2}[which]
        if field_index >= len(targets):
            return data
        start = targets[field_index]
        value, end = read_uint(data, start)
    except IndexError:
        return data
    told = value + delta if abs(delta) < 2**20 else delta
    return data[:start] + bytearray(write_var_uint(max(0, told))) + data[end:]


def expectation(item: Built, server_clock: dict[int, int], tainted: bool) -> Expect | None:
    """What the server must do with `item`, given the clocks of this attacker's writers it
    holds (`server_clock`, from what it accepted) and whether a mutated message of this
    attacker was accepted in this example (`tainted`: it may have written anything under the
    attacker's writers' ids). None: not predicted."""
    if item.mutated:
        return None
    message = item.step.message
    if item.expect is not None or isinstance(message, Collide):
        return item.expect
    if tainted:
        return None
    if isinstance(message, Full):
        return ACCEPT if item.shape_ok else SHAPE_REFUSED
    assert isinstance(message, Update) and item.client is not None
    if not item.new_structs:
        # Deletions only, or nothing at all: it adds no content whose shape could matter to
        # a whole-document editor, whatever its writer's document shows (that may hold content
        # the server refused). One that changes nothing is no write (crdt/guard.py).
        return ACCEPT
    if server_clock.get(item.client, 0) != item.clock_before:
        return PENDING_REFUSED  # the server lacks clocks this update's first item follows
    if any(server_clock.get(c, 0) < k for c, k in item.needs.items()):
        # Its origins may lie in what the server lacks, or may not; and the shape its
        # writer's document shows may come from that content, which the server refused.
        return None
    if not item.shape_ok:
        return SHAPE_REFUSED
    return ACCEPT
