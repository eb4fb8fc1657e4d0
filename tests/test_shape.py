"""The pre-decoding read of nested values (crdt/shape.py), in-process: it must pass every
update real clients make, whatever it holds, and refuse values nested past the bound before
the engine's recursive decoder sees them."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.depth import ShapeRefused
from crdt.shape import written_clocks
from crdt.updates import decode_state_vector
from tests.support.hostile import map_entry_update, nested_any_update, var_uint


def _edits() -> list[Callable[[Doc[Any]], object]]:
    def values(d: Doc[Any]) -> None:
        meta = d.get("meta", type=Map)
        meta["all"] = [None, True, False, 1, -70000, 2.5, 1e300, "uvuvuv", b"\x75\x76",
                       {"u": [{"v": [1, {"w": "x"}]}]}, 2**40]
        meta["nested"] = Map({"list": Array([1, "two", Map({"three": 3})])})

    def rich(d: Doc[Any]) -> None:
        fragment = d.get("section:a", type=XmlFragment)
        paragraph = XmlElement("paragraph", {"align": "left"},
                               [XmlText("some text with uv in it")])
        fragment.children.append(paragraph)
        text = paragraph.children[0]
        assert isinstance(text, XmlText)
        text.format(0, 4, {"bold": True, "link": {"href": "https://example.org"}})
        text.insert_embed(3, {"image": "u" * 300})

    def plain(d: Doc[Any]) -> None:
        body = d.get("body", type=Text)
        body.insert(0, "uv" * 500)
        body.format(2, 10, {"italic": True})
        del body[5:40]

    return [values, rich, plain]


@pytest.mark.parametrize("edit", _edits())
def test_every_kind_of_content_passes(edit: Callable[[Doc[Any]], object]) -> None:
    doc: Doc[Any] = Doc()
    with doc.transaction():
        edit(doc)
    update = doc.get_update()
    written_clocks(update, 128)
    # The deepest value nests six levels (list, object, list, object, list, object): the
    # bound just under it refuses the update, which shows the whole update was parsed.
    written_clocks(update, 6)
    if edit.__name__ == "values":
        with pytest.raises(ShapeRefused, match="too-deep"):
            written_clocks(update, 5)


def test_random_edits_of_many_clients_all_pass() -> None:
    rng = random.Random(7)
    docs: list[Doc[Any]] = [Doc() for _ in range(3)]
    for step in range(300):
        doc = rng.choice(docs)
        body = doc.get("body", type=Text)
        with doc.transaction():
            if len(body) and rng.random() < 0.3:
                start = rng.randrange(len(body))
                del body[start:min(len(body), start + rng.randrange(1, 5))]
            else:
                body.insert(rng.randrange(len(body) + 1), rng.choice(["uv", "[{", "text "]))
            if step % 7 == 0:
                doc.get("meta", type=Map)[f"k{step}"] = {"u": [step, {"v": [step]}]}
        for other in docs:
            if other is not doc:
                other.apply_update(doc.get_update(other.get_state()))
    written_clocks(docs[0].get_update(), 4)  # object, list, object, list


@pytest.mark.parametrize("container", [117, 118])
def test_values_deeper_than_the_bound_are_refused_before_decoding(container: int) -> None:
    written_clocks(nested_any_update(128, container), 128)
    with pytest.raises(ShapeRefused, match="too-deep"):
        written_clocks(nested_any_update(129, container), 128)
    with pytest.raises(ShapeRefused, match="too-deep"):
        written_clocks(nested_any_update(100_000, container), 128)


def test_the_engine_really_dies_on_what_is_refused() -> None:
    """Why the check exists: applying such an update kills the process (in a child here)."""
    child = subprocess.run(
        [sys.executable, "-c", "import sys; from pycrdt import Doc; "
         "Doc().apply_update(bytes.fromhex(sys.stdin.read()))"],
        input=nested_any_update(100_000).hex(), text=True, capture_output=True, timeout=60)
    assert child.returncode < 0, child.stderr[-500:]


def test_a_truncated_update_is_refused() -> None:
    wide = map_entry_update(bytes([117]) + var_uint(300) + bytes([117, 0]) * 300)
    written_clocks(wide, 128)
    with pytest.raises(ShapeRefused, match="undecodable"):
        written_clocks(wide[:400], 128)


def test_clock_ranges_match_what_the_engine_integrates() -> None:
    """The client-id binding trusts these ranges: they must be the engine's own, for content
    that starts at clock 0 and for content that continues a clock (which pycrdt's
    get_state(update) does not list)."""
    doc: Doc[Any] = Doc(client_id=42)
    body = doc.get("body", type=Text)
    body.insert(0, "héllo 😀")  # UTF-16 units: 8
    first = doc.get_state()
    with doc.transaction():
        body.insert(3, "more")
        doc.get("meta", type=Map)["k"] = [1, 2, 3]
        doc.get("section:a", type=XmlFragment).children.append(XmlElement("p"))
        del body[0:2]
    continued = doc.get_update(first)
    assert written_clocks(doc.get_update(), 128) == {42: (0, 14)}
    assert written_clocks(continued, 128) == {42: (8, 14)}
    assert decode_state_vector(doc.get_state()) == {42: 14}
