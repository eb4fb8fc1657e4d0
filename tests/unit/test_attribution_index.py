"""The attribution index (`crdt.attribution`) and the indicators (`app.indicators`), in process."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pycrdt import Doc, Text, TransactionEvent, XmlElement, XmlFragment, XmlText

from app.indicators import concentration, gini, schedule
from crdt.attribution import Attribution, Credits, surviving_chars
from crdt.shape import read_update


def _updates(doc: Doc[Any]) -> list[bytes]:
    updates: list[bytes] = []

    def keep(event: TransactionEvent) -> None:
        updates.append(event.update)

    doc.observe(keep)
    return updates


def _plain(credits: Credits) -> dict[tuple[str | None, str], tuple[int, int]]:
    return {key: (c.inserted, c.deleted) for key, c in credits.items()}


def test_a_deletion_of_content_not_yet_there_is_credited_to_its_sender_when_it_arrives() -> None:
    alice: Doc[Any] = Doc(client_id=1)
    bob: Doc[Any] = Doc(client_id=2)
    sent = _updates(alice)
    alice.get("body", type=Text).insert(0, "hello")
    bob.apply_update(sent[0])
    deletion = _updates(bob)
    del bob.get("body", type=Text)[1:4]
    index = Attribution()
    assert _plain(index.credit(read_update(deletion[0], 64), "bob")) == {}
    assert _plain(index.credit(read_update(sent[0], 64), "alice")) == {
        ("alice", "body"): (5, 0), ("bob", "body"): (0, 3)}
    # Sent again, nothing is new: nothing is credited twice.
    assert _plain(index.credit(read_update(sent[0], 64), "alice")) == {}
    assert _plain(index.credit(read_update(deletion[0], 64), "bob")) == {}
    assert index.surviving() == {"body": {1: 2}}


def test_text_nested_in_elements_is_credited_to_its_section_both_ways_in_one_update() -> None:
    doc: Doc[Any] = Doc(client_id=7)
    sent = _updates(doc)
    with doc.transaction():
        doc.get("section:a", type=XmlFragment).children.append(
            XmlElement("paragraph", contents=[XmlText("one two")]))
    paragraph = doc.get("section:a", type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    with doc.transaction():
        text.insert(3, "ABC")  # typed and erased in one transaction: counted both ways
        del text[3:6]
        del text[0:1]
    index = Attribution()
    totals = [_plain(index.credit(read_update(u, 64), "u")) for u in sent]
    assert totals == [{("u", "section:a"): (7, 0)}, {("u", "section:a"): (3, 4)}]
    assert surviving_chars(doc.get_update()) == {"section:a": {7: 6}} == index.surviving()


def test_gini_concentration_and_schedule() -> None:
    assert gini([]) is None and gini([0, 0]) is None
    assert gini([5, 5]) == 0.0
    assert abs((gini([0, 0, 10]) or 0) - 2 / 3) < 1e-9
    assert concentration({"a": 90, "b": 10}, 100, writers=3).flagged
    assert not concentration({"a": 90, "b": 10}, 100, writers=2).flagged
    assert not concentration({"a": 89, "b": 11}, 100, writers=3).flagged
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    recent, old = now - timedelta(days=1), now - timedelta(days=8)
    assert schedule("done", date(2026, 1, 1), old, now, 7) == "done"
    assert schedule("draft", date(2026, 6, 9), recent, now, 7) == "late"
    assert schedule("draft", date(2026, 6, 10), old, now, 7) == "stalled"
    assert schedule("draft", None, recent, now, 7) == "on_track"
