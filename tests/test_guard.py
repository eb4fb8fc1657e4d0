"""The write guard on its own, with pycrdt docs: every way an update can reach a root."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.guard import Guard, WriteRejected, WriteScope
from crdt.protocol import ProtocolError

SECTION_A, SECTION_B = "section:a", "section:b"
SCOPE_A = WriteScope.only({SECTION_A, "comments"})
LiveAndClient = tuple[Doc[Any], Doc[Any]]  # the server's document and a client's copy


def _seeded() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for name in (SECTION_A, SECTION_B):
        fragment = XmlFragment([XmlElement("paragraph", contents=[XmlText(f"text of {name}")])])
        doc[name] = fragment
    doc["comments"] = Map({"c1": "first"})
    return doc


def _edit(source: Doc[Any], change: Callable[[Doc[Any]], object]) -> bytes:
    before = source.get_state()
    with source.transaction():
        change(source)
    return source.get_update(before)


def _append_child(parent: XmlFragment | XmlElement, child: XmlElement, _doc: Doc[Any]) -> None:
    parent.children.append(child)


def _prepend(texts: dict[str, str], doc: Doc[Any]) -> None:
    """Each text at the start of its root's first paragraph, in one transaction."""
    for root, text in texts.items():
        _paragraph_text(doc, root).insert(0, text)


def _paragraph_text(doc: Doc[Any], root: str) -> XmlText:
    paragraph = doc.get(root, type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    return text


@pytest.fixture
def live_and_client() -> LiveAndClient:
    live = _seeded()
    client: Doc[Any] = Doc()
    client.apply_update(live.get_update())
    return live, client


def test_edits_inside_scope_and_comments_pass(live_and_client: LiveAndClient) -> None:
    live, client = live_and_client
    guard = Guard(max_depth=128)
    guard.check(_edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "ok ")),
                SCOPE_A, live)
    guard.check(_edit(client, lambda d: d.get("comments", type=Map).__setitem__("c2", "hi")),
                SCOPE_A, live)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: _paragraph_text(d, SECTION_B).insert(0, "x"), id="insert-B"),
        pytest.param(lambda d: _paragraph_text(d, SECTION_B).__delitem__(slice(0, 4)),
                     id="delete-B"),
        pytest.param(lambda d: d.get(SECTION_B, type=XmlFragment).children.append(
            XmlElement("paragraph")), id="new-block-B"),
        pytest.param(lambda d: d.__setitem__("section:new", XmlFragment([XmlElement("p")])),
                     id="new-root"),
        pytest.param(lambda d: d.__setitem__("other", Text("x")), id="new-text-root"),
        pytest.param(functools.partial(_prepend, {SECTION_A: "ok", SECTION_B: "sneaky"}),
                     id="mixed-A-and-B"),
    ],
)
def test_updates_outside_scope_are_rejected_whole(
    live_and_client: LiveAndClient, change: Callable[[Doc[Any]], object]
) -> None:
    live, client = live_and_client
    guard = Guard(max_depth=128)
    update = _edit(client, change)
    with pytest.raises(WriteRejected) as rejected:
        guard.check(update, SCOPE_A, live)
    assert rejected.value.roots and not rejected.value.roots <= {SECTION_A, "comments"}
    # The guard worked on its probe only: the live doc never saw any of it.
    assert str(_paragraph_text(live, SECTION_A)) == "text of section:a"
    assert str(_paragraph_text(live, SECTION_B)) == "text of section:b"
    # And a later legitimate edit still passes (the probe was rebuilt).
    fresh: Doc[Any] = Doc()
    fresh.apply_update(live.get_update())
    guard.check(_edit(fresh, lambda d: _paragraph_text(d, SECTION_A).insert(0, "fine ")),
                SCOPE_A, live)


def test_reviewer_scope_allows_only_comments(live_and_client: LiveAndClient) -> None:
    live, client = live_and_client
    guard = Guard(max_depth=128)
    reviewer = WriteScope.only({"comments"})
    guard.check(_edit(client, lambda d: d.get("comments", type=Map).__setitem__("c3", "nb")),
                reviewer, live)
    with pytest.raises(WriteRejected):
        guard.check(_edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "x")),
                    reviewer, live)


def test_updates_with_missing_dependencies_are_rejected(live_and_client: LiveAndClient) -> None:
    """An insert into B hidden behind content the server lacks would integrate later."""
    live, client = live_and_client
    first = _edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "held back "))
    second = _edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "x"))
    guard = Guard(max_depth=128)
    with pytest.raises(WriteRejected, match="does not have"):
        guard.check(second, SCOPE_A, live)
    del first


def test_deleting_content_the_server_has_not_seen_is_rejected(
    live_and_client: LiveAndClient
) -> None:
    live, client = live_and_client
    author: Doc[Any] = Doc()
    author.apply_update(live.get_update())
    future = _edit(author, lambda d: _paragraph_text(d, SECTION_B).insert(0, "future "))
    # The restricted client learns the author's edit out of band and deletes it before the
    # server has it: applied later, that deletion would land in section B.
    client.apply_update(future)
    deletion = _edit(client, lambda d: _paragraph_text(d, SECTION_B).__delitem__(slice(0, 7)))
    guard = Guard(max_depth=128)
    with pytest.raises(WriteRejected):
        guard.check(deletion, SCOPE_A, live)


def test_every_writer_goes_through_the_probe_so_it_stays_current(
    live_and_client: LiveAndClient
) -> None:
    live, client = live_and_client
    guard = Guard(max_depth=128)
    guard.check(_edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "a")),
                SCOPE_A, live)
    owner: Doc[Any] = Doc()
    owner.apply_update(live.get_update())
    owner_update = _edit(owner, lambda d: _paragraph_text(d, SECTION_A).insert(0, "owner "))
    guard.check(owner_update, WriteScope.everything(), live)
    live.apply_update(owner_update)
    client.apply_update(owner_update)
    # Builds on the owner's edit: passes only if the probe learned it.
    guard.check(_edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(6, "+")),
                SCOPE_A, live)


def test_an_undecodable_update_leaves_the_live_doc_untouched_for_anyone(
    live_and_client: LiveAndClient
) -> None:
    live, _ = live_and_client
    before = live.get_update()
    with pytest.raises(ProtocolError):
        Guard(max_depth=128).check(b"\x01\x02garbage", WriteScope.everything(), live)
    assert live.get_update() == before


# --- depth (issue 7 item 1), retired roots (item 4), updates that change nothing (item 3) ----

def _tower(depth: int, leaf: object = None) -> XmlElement:
    """`depth` elements nested in each other, built bottom-up without recursion."""
    node = XmlElement("div", contents=[XmlText("leaf")])
    for _ in range(depth - 1):
        node = XmlElement("div", contents=[node])
    return node


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda d: d.get(SECTION_A, type=XmlFragment).children.append(_tower(200)),
                     id="element-tower-in-one-update"),
        pytest.param(lambda d: d.__setitem__("section:new", XmlFragment([_tower(200)])),
                     id="tower-in-a-new-root"),
        pytest.param(lambda d: d.get("comments", type=Map).__setitem__("deep", _maps(200)),
                     id="map-tower"),
        pytest.param(lambda d: d.__setitem__("fresh", Array([_arrays(200)])),
                     id="array-tower-in-a-new-root"),
        pytest.param(lambda d: _paragraph_text(d, SECTION_A).insert_embed(0, _maps(200)),
                     id="tower-embedded-in-text"),
    ],
)
def test_a_document_cannot_be_nested_deeper_than_the_bound(
    live_and_client: LiveAndClient, build: Callable[[Doc[Any]], object]
) -> None:
    live, client = live_and_client
    before = live.get_update()
    with pytest.raises(ProtocolError, match="too-deep") as refused:
        Guard(max_depth=128).check(_edit(client, build), WriteScope.everything(), live)
    assert refused.value.code == 1003
    assert live.get_update() == before


def test_a_tower_built_one_level_per_update_stops_at_the_bound() -> None:
    """Each update adds one element inside the last: the depth of the target counts."""
    live: Doc[Any] = Doc()
    client: Doc[Any] = Doc()
    guard = Guard(max_depth=16)
    parent: XmlElement | XmlFragment = client.get(SECTION_A, type=XmlFragment)
    accepted = 0
    with pytest.raises(ProtocolError, match="too-deep"):
        for _ in range(40):
            child = XmlElement("div")
            update = _edit(client, functools.partial(_append_child, parent, child))
            guard.check(update, WriteScope.everything(), live)
            live.apply_update(update)
            accepted += 1
            last = parent.children[len(parent.children) - 1]
            assert isinstance(last, XmlElement)
            parent = last
    assert accepted == 16


def test_a_legitimate_document_passes_the_depth_check(live_and_client: LiveAndClient) -> None:
    live, client = live_and_client
    nested_list = _tower(20)
    Guard(max_depth=128).check(
        _edit(client, lambda d: d.get(SECTION_A, type=XmlFragment).children.append(nested_list)),
        WriteScope.everything(), live)


def test_a_huge_new_nested_array_is_refused_not_walked(live_and_client: LiveAndClient) -> None:
    """Walking a nested Y.Array costs quadratic time in pycrdt: a long new one is refused."""
    live, client = live_and_client
    with pytest.raises(ProtocolError, match="too-big"):
        Guard(max_depth=128).check(
            _edit(client, lambda d: d.get("comments", type=Map).__setitem__(
                "list", Array([Map() for _ in range(5000)]))),
            WriteScope.everything(), live)


def test_resending_what_the_server_has_is_no_write(live_and_client: LiveAndClient) -> None:
    """A viewer's reconnect: its sync step 2 carries its delete set and nothing new."""
    live, client = live_and_client
    owner: Doc[Any] = Doc()
    owner.apply_update(live.get_update())
    deletion = _edit(owner, lambda d: _paragraph_text(d, SECTION_A).__delitem__(slice(0, 4)))
    live.apply_update(deletion)
    client.apply_update(deletion)
    step2 = client.get_update(live.get_state())
    assert Guard(max_depth=128).check(step2, WriteScope.nothing(), live) is False


def test_a_viewer_adding_anything_is_refused(live_and_client: LiveAndClient) -> None:
    live, client = live_and_client
    with pytest.raises(WriteRejected, match="read-only"):
        Guard(max_depth=128).check(
            _edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "x")),
            WriteScope.nothing(), live)


def test_nobody_writes_a_retired_root(live_and_client: LiveAndClient) -> None:
    live, client = live_and_client
    with pytest.raises(WriteRejected, match="deleted") as refused:
        Guard(max_depth=128).check(
            _edit(client, lambda d: _paragraph_text(d, SECTION_B).insert(0, "back")),
            WriteScope.everything(), live, retired=frozenset({SECTION_B}))
    assert refused.value.roots == {SECTION_B}


def _maps(depth: int) -> Map[object]:
    node: Map[object] = Map({"leaf": 1})
    for _ in range(depth - 1):
        node = Map({"child": node})
    return node


def _arrays(depth: int) -> Array[object]:
    node: Array[object] = Array([1])
    for _ in range(depth - 1):
        node = Array([node])
    return node


def test_map_entries_under_a_root_the_probe_already_knows_are_depth_checked() -> None:
    """The first typed read of a root fixes the events it raises: a root first walked as text
    (when it was created) used to hide the map entries a later update added."""
    live: Doc[Any] = Doc()
    owner: Doc[Any] = Doc()
    guard = Guard(max_depth=128)
    created = _edit(owner, lambda d: d.get(SECTION_A, type=XmlFragment).children.append(
        XmlText("alpha")))
    guard.check(created, WriteScope.everything(), live)
    live.apply_update(created)
    attacker: Doc[Any] = Doc()
    attacker.apply_update(live.get_update())
    with pytest.raises(ProtocolError, match="too-deep"):
        guard.check(_edit(attacker, lambda d: d.get(SECTION_A, type=Map).__setitem__(
            "deep", _maps(129))), WriteScope.only({SECTION_A}), live)
