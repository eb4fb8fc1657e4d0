"""The write guard on its own, with pycrdt docs: every way an update can reach a root."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pycrdt import Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.guard import Guard, WriteRejected, WriteScope
from crdt.protocol import ProtocolError

SECTION_A, SECTION_B = "section:a", "section:b"
SCOPE_A = WriteScope.only({SECTION_A, "comments"})


def _seeded() -> Doc:
    doc = Doc()
    for name in (SECTION_A, SECTION_B):
        fragment = XmlFragment([XmlElement("paragraph", contents=[XmlText(f"text of {name}")])])
        doc[name] = fragment
    doc["comments"] = Map({"c1": "first"})
    return doc


def _edit(source: Doc, change: Callable[[Doc], object]) -> bytes:
    before = source.get_state()
    with source.transaction():
        change(source)
    return source.get_update(before)


def _paragraph_text(doc: Doc, root: str) -> XmlText:
    paragraph = doc.get(root, type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    return text


@pytest.fixture
def live_and_client() -> tuple[Doc, Doc]:
    live = _seeded()
    client = Doc()
    client.apply_update(live.get_update())
    return live, client


def test_edits_inside_scope_and_comments_pass(live_and_client: tuple[Doc, Doc]) -> None:
    live, client = live_and_client
    guard = Guard()
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
        pytest.param(lambda d: (_paragraph_text(d, SECTION_A).insert(0, "ok"),
                                _paragraph_text(d, SECTION_B).insert(0, "sneaky")),
                     id="mixed-A-and-B"),
    ],
)
def test_updates_outside_scope_are_rejected_whole(
    live_and_client: tuple[Doc, Doc], change: Callable[[Doc], object]
) -> None:
    live, client = live_and_client
    guard = Guard()
    update = _edit(client, change)
    with pytest.raises(WriteRejected) as rejected:
        guard.check(update, SCOPE_A, live)
    assert rejected.value.roots and not rejected.value.roots <= {SECTION_A, "comments"}
    # The guard worked on its probe only: the live doc never saw any of it.
    assert str(_paragraph_text(live, SECTION_A)) == "text of section:a"
    assert str(_paragraph_text(live, SECTION_B)) == "text of section:b"
    # And a later legitimate edit still passes (the probe was rebuilt).
    fresh = Doc()
    fresh.apply_update(live.get_update())
    guard.check(_edit(fresh, lambda d: _paragraph_text(d, SECTION_A).insert(0, "fine ")),
                SCOPE_A, live)


def test_reviewer_scope_allows_only_comments(live_and_client: tuple[Doc, Doc]) -> None:
    live, client = live_and_client
    guard = Guard()
    reviewer = WriteScope.only({"comments"})
    guard.check(_edit(client, lambda d: d.get("comments", type=Map).__setitem__("c3", "nb")),
                reviewer, live)
    with pytest.raises(WriteRejected):
        guard.check(_edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "x")),
                    reviewer, live)


def test_updates_with_missing_dependencies_are_rejected(live_and_client: tuple[Doc, Doc]) -> None:
    """An insert into B hidden behind content the server lacks would integrate later."""
    live, client = live_and_client
    first = _edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "held back "))
    second = _edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "x"))
    guard = Guard()
    with pytest.raises(WriteRejected, match="does not have"):
        guard.check(second, SCOPE_A, live)
    del first


def test_deleting_content_the_server_has_not_seen_is_rejected(
    live_and_client: tuple[Doc, Doc]
) -> None:
    live, client = live_and_client
    author = Doc()
    author.apply_update(live.get_update())
    future = _edit(author, lambda d: _paragraph_text(d, SECTION_B).insert(0, "future "))
    # The restricted client learns the author's edit out of band and deletes it before the
    # server has it: applied later, that deletion would land in section B.
    client.apply_update(future)
    deletion = _edit(client, lambda d: _paragraph_text(d, SECTION_B).__delitem__(slice(0, 7)))
    guard = Guard()
    with pytest.raises(WriteRejected):
        guard.check(deletion, SCOPE_A, live)


def test_every_writer_goes_through_the_probe_so_it_stays_current(
    live_and_client: tuple[Doc, Doc]
) -> None:
    live, client = live_and_client
    guard = Guard()
    guard.check(_edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(0, "a")),
                SCOPE_A, live)
    owner = Doc()
    owner.apply_update(live.get_update())
    owner_update = _edit(owner, lambda d: _paragraph_text(d, SECTION_A).insert(0, "owner "))
    guard.check(owner_update, WriteScope.everything(), live)
    live.apply_update(owner_update)
    client.apply_update(owner_update)
    # Builds on the owner's edit: passes only if the probe learned it.
    guard.check(_edit(client, lambda d: _paragraph_text(d, SECTION_A).insert(6, "+")),
                SCOPE_A, live)


def test_an_undecodable_update_leaves_the_live_doc_untouched_for_anyone(
    live_and_client: tuple[Doc, Doc]
) -> None:
    live, _ = live_and_client
    before = live.get_update()
    with pytest.raises(ProtocolError):
        Guard().check(b"\x01\x02garbage", WriteScope.everything(), live)
    assert live.get_update() == before
