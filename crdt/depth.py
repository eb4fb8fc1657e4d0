"""How deep shared types nest, found without recursion.

The engine handles a document of any depth when it applies or encodes it, but turning one
into text or JSON recurses natively, and a member who nests 150,000 elements makes that crash
the process. So the guard refuses any update that would put a shared type deeper than a bound,
and everything here walks with an explicit stack.

Depth counts shared types between a root and a node: a root is at depth 0, a paragraph in a
section at 1, a text node in that paragraph at 2.

Every kind of type is walked in time linear in its size except a nested `Y.Array`: pycrdt
reads one by index, and each read starts from the array's head. A new nested array longer than
`MAX_NEW_ARRAY_ITEMS` is therefore refused rather than walked (Widen's own documents have none;
appending to an existing array is never walked, the event lists what was added).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

SharedType = Array[Any] | Map[Any] | Text | XmlElement | XmlFragment | XmlText
SHARED_TYPES = (Array, Map, Text, XmlElement, XmlFragment, XmlText)
MAX_NEW_ARRAY_ITEMS = 4096


class ShapeRefused(Exception):
    """A document shape the server will not take: `reason` says which, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _shared(values: Iterable[object]) -> Iterator[SharedType]:
    for value in values:
        if isinstance(value, SHARED_TYPES):
            yield value


def _map_values(node: Map[Any]) -> Iterator[object]:
    """A map's values, read key by key with `get`: the engine lists the key of an entry that
    holds no value (a formatting mark, which a crafted update can put in a map), where
    `Map.values()` raises KeyError reading it."""
    return (node.get(key) for key in list(node.keys()))


def children(node: SharedType) -> Iterator[SharedType]:
    """The shared types directly inside `node`, whatever kind it is."""
    if isinstance(node, Map):
        yield from _shared(_map_values(node))
    elif isinstance(node, Array):
        if len(node) > MAX_NEW_ARRAY_ITEMS:
            raise ShapeRefused(f"too-big: a new array may hold at most {MAX_NEW_ARRAY_ITEMS} "
                               "items")
        yield from _shared(node)
    elif isinstance(node, XmlElement | XmlFragment):
        if isinstance(node, XmlElement):
            # pycrdt types the attributes view's __iter__ as returning an Iterable.
            yield from _shared(value for _key, value in node.attributes.__iter__())
        yield from _shared(node.children)
    else:  # Text, XmlText: embedded types sit between the characters
        yield from _shared(chunk for chunk, _attrs in node.diff())


def root_children(doc: Doc[Any], name: str) -> Iterator[SharedType]:
    """The shared types directly inside a root, read both as a sequence and as a map: a root
    arrives from a client untyped, and either part may hold types. (Read as text, a root's
    sequence lists every type in it, in linear time, whatever kind of sequence it is.)"""
    yield from _shared(chunk for chunk, _attrs in doc.get(name, type=Text).diff())
    yield from _shared(_map_values(doc.get(name, type=Map)))


def check_depth(starts: Iterable[tuple[SharedType, int]], limit: int) -> None:
    """Raise `ShapeRefused` if any node reachable from `starts` (each a node and its depth) is
    deeper than `limit`. Stops at the first such node, so a hostile tower costs only `limit`
    steps down."""
    stack = list(starts)
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ShapeRefused(f"too-deep: shared types may nest at most {limit} levels deep")
        stack.extend((child, depth + 1) for child in children(node))


def inserted_types(delta: object, keys: object) -> Iterator[SharedType]:
    """The shared types an observed event inserted: from its delta (`insert` is a list for
    sequences, one value for text embeds) and from its key changes (map entries, attributes)."""
    if isinstance(delta, list):
        for change in delta:
            if isinstance(change, dict) and "insert" in change:
                inserted = change["insert"]
                yield from _shared(inserted if isinstance(inserted, list) else [inserted])
    if isinstance(keys, dict):
        for change in keys.values():
            if isinstance(change, dict):
                yield from _shared([change.get("newValue")])
