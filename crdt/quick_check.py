"""The write guard's quick verdict on the usual update, from the update's shape and the room's
index, without the probe.

Most updates are a keystroke: one run of characters next to characters the server has, or a
short deletion of characters it has. For those, everything the probe would tell (which roots
the update touches, whether anything of it would wait for missing content, how deep it nests)
follows from the update's own structs and the attribution index (`crdt.attribution`), which
knows the root of every clock it holds. Applying such an update to the probe, observing it and
comparing state vectors cost most of an accepted edit's time.

The verdict is only ever an acceptance (True), or "changes nothing" (False); anything unusual
gets None and goes to the probe, which gives the same refusals as before. Accepted here means:
- every struct is characters in strict UTF-8 (no shared type, so no nesting), at most a few
  of them, each continuing its client's clocks exactly where the index ends (so nothing is
  pending), and each placed in a root by name or next to content the index holds;
- its delete set is read whole, and every deletion is of clocks the index holds, in known
  roots;
- every root touched is in the writer's scope and none is retired.
The engine applies such an update whole: it decodes an update completely before integrating
it, and each item's neighbours are there.
"""

from __future__ import annotations

from crdt.attribution import Attribution, Root
from crdt.guard import WriteScope
from crdt.protocol import ProtocolError
from crdt.shape import STRING, Id, UpdateShape, delete_ranges

# More structs than this (a paste with many marks, say) go to the probe.
MAX_QUICK_STRUCTS = 4
# Longer delete sets (a client's whole one) go to the probe.
MAX_QUICK_DELETE_SET = 48
# Characters only: a formatting mark carries JSON the engine parses with rules of its own.
_QUICK_KINDS = frozenset((STRING,))


def quick_verdict(shape: UpdateShape, scope: WriteScope, retired: frozenset[str],
                  index: Attribution) -> bool | None:
    """True: a write the guard accepts; False: it changes nothing the server has; None: ask
    the probe."""
    structs = shape.structs
    if (len(structs) > MAX_QUICK_STRUCTS or shape.lossy
            or not 0 < len(shape.delete_set) <= MAX_QUICK_DELETE_SET):
        return None
    touched: set[Root] = set()
    # This update's new runs, (client, start, end, root): later structs may hang off them.
    fresh: list[tuple[int, int, int, Root]] = []
    for struct in structs:
        if not struct.known or struct.kind not in _QUICK_KINDS or not struct.length:
            return None
        expected = next((end for client, _s, end, _r in reversed(fresh)
                         if client == struct.client), index.known_end(struct.client))
        end = struct.clock + struct.length
        if end <= expected and not any(c == struct.client for c, *_ in fresh):
            continue  # resent: the engine skips clocks it has
        if struct.clock != expected:
            return None  # pending, or overlapping what the server has
        root = _placed_in(struct.parent, struct.origin, struct.right_origin, index, fresh)
        if root is None:
            return None
        touched.add(root)
        fresh.append((struct.client, struct.clock, end, root))
    deleted = _deleted_roots(shape.delete_set, index)
    if deleted is None:
        return None
    touched |= deleted
    if not touched:
        return False
    if None in touched or scope.read_only:
        return None
    roots = {root for root in touched if root is not None}
    if roots & retired or not all(scope.allows(root) for root in roots):
        return None
    return True


def _placed_in(parent: str | Id | None, origin: Id | None, right_origin: Id | None,
               index: Attribution, fresh: list[tuple[int, int, int, Root]]) -> str | None:
    """The root an item lands in (the engine takes its parent, else its origin's, else its
    right origin's), or None if that is not certain from what the server holds: each
    neighbour it names must be there, or the engine keeps the item waiting. A parent named by
    id goes to the probe: the index does not know whether that item is a type."""
    if isinstance(parent, str):
        return parent
    if parent is not None or (origin is None and right_origin is None):
        return None
    roots = [_root_of(reference, index, fresh)
             for reference in (origin, right_origin) if reference is not None]
    return roots[0] if None not in roots else None


def _root_of(reference: Id, index: Attribution,
             fresh: list[tuple[int, int, int, Root]]) -> str | None:
    client_id, clock = reference
    for client, start, end, root in fresh:
        if client == client_id and start <= clock < end:
            return root
    indexed = index.root_at(client_id, clock)
    return indexed if isinstance(indexed, str) else None


def _deleted_roots(data: bytes, index: Attribution) -> set[Root] | None:
    """The roots a short delete set deletes something new in; None if it deletes anything the
    index does not hold, or cannot be read here."""
    roots: set[Root] = set()
    if data == b"\x00":
        return roots
    try:
        for client_id, clock, length in delete_ranges(data, whole=True):
            if not length or index.all_deleted(client_id, clock, clock + length):
                continue
            found = index.roots_between(client_id, clock, clock + length)
            if found is None:
                return None
            roots |= found
    except ProtocolError:
        return None  # the probe decides what the engine makes of these bytes
    return roots
