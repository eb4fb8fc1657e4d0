"""Words inserted and deleted (`crdt.attribution`, module docstring): word starts credited to
whoever typed or erased them, read from real pycrdt updates of y-prosemirror-shaped sections."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, TransactionEvent, XmlElement, XmlFragment, XmlText

from crdt.attribution import Attribution, Credits
from crdt.shape import read_update

ROOT = "section:a"


class _Writer:
    """One pycrdt doc whose updates are kept, to be credited to `origin`."""

    def __init__(self, client_id: int, origin: str) -> None:
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.origin = origin
        self.updates: list[bytes] = []

        def keep(event: TransactionEvent) -> None:
            self.updates.append(event.update)

        self.doc.observe(keep)

    def paragraph(self) -> XmlText:
        """A new paragraph's text, as y-prosemirror makes it."""
        fragment = self.doc.get(ROOT, type=XmlFragment)
        fragment.children.append(XmlElement("paragraph", contents=[XmlText()]))
        paragraph = fragment.children[len(fragment.children) - 1]
        assert isinstance(paragraph, XmlElement)
        text = paragraph.children[0]
        assert isinstance(text, XmlText)
        return text

    def take(self) -> list[bytes]:
        taken, self.updates[:] = list(self.updates), []
        return taken


def _words(index: Attribution, updates: list[bytes], origin: str) -> dict[str, tuple[int, int]]:
    """Words (inserted, deleted) per sender over a run of updates, each credited to `origin`."""
    totals: dict[str, tuple[int, int]] = {}
    for update in updates:
        credits: Credits = index.credit(read_update(update, 64, strings=True), origin)
        for (sender, root), credit in credits.items():
            assert root == ROOT and sender is not None
            inserted, deleted = totals.get(sender, (0, 0))
            totals[sender] = (inserted + credit.words_inserted, deleted + credit.words_deleted)
    return totals


def _first_text(doc: Doc[Any]) -> XmlText:
    paragraph = doc.get(ROOT, type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    return text


def _type(text: XmlText, at: int, typed: str) -> None:
    for offset, character in enumerate(typed):
        text.insert(at + offset, character)


def test_typing_key_by_key_then_erasing_a_word_and_typing_another() -> None:
    alice, index = _Writer(1, "alice"), Attribution()
    text = alice.paragraph()
    _type(text, 0, "hello world")
    assert _words(index, alice.take(), "alice") == {"alice": (2, 0)}
    del text[6:11]
    assert _words(index, alice.take(), "alice") == {"alice": (0, 1)}
    # Yjs and yrs make the erased "d" the origin of what comes next: it starts a word.
    _type(text, 6, "there")
    assert _words(index, alice.take(), "alice") == {"alice": (1, 0)}
    assert str(text) == "hello there"


def test_backspacing_and_retyping_counts_what_the_text_shows() -> None:
    alice, index = _Writer(1, "alice"), Attribution()
    text = alice.paragraph()
    _type(text, 0, "helo ab")
    for end in (7, 6):  # backspace twice: "ab" goes, last letter first
        del text[end - 1:end]
    _type(text, 5, "cd")
    del text[3:4]  # a typo fixed inside a word: no word erased, none typed
    _type(text, 3, "lo")
    assert str(text) == "hello cd"
    assert _words(index, alice.take(), "alice") == {"alice": (3, 1)}


def test_a_paste_counts_every_word_once() -> None:
    alice, index = _Writer(1, "alice"), Attribution()
    text = alice.paragraph()
    text.insert(0, "a b c")
    text.insert(5, "  \tdone.\n")
    assert _words(index, alice.take(), "alice") == {"alice": (4, 0)}
    del text[0:5]
    assert _words(index, alice.take(), "alice") == {"alice": (0, 3)}


def test_a_format_mark_continues_the_word_before_it() -> None:
    alice, index = _Writer(1, "alice"), Attribution()
    spaced, joined = alice.paragraph(), alice.paragraph()
    spaced.insert(0, "foo ")
    spaced.insert(4, "bar", {"bold": True})
    joined.insert(0, "foo")
    joined.insert(3, "bar", {"bold": True})
    joined.insert(6, "baz", {"italic": True})
    assert _words(index, alice.take(), "alice") == {"alice": (3, 0)}


def test_each_paragraph_starts_a_word() -> None:
    alice, index = _Writer(1, "alice"), Attribution()
    first, second = alice.paragraph(), alice.paragraph()
    _type(first, 0, "one")
    _type(second, 0, "two")
    # A paragraph made with its text in one transaction: its first character has no origin.
    with alice.doc.transaction():
        alice.paragraph().insert(0, "three")
    assert _words(index, alice.take(), "alice") == {"alice": (3, 0)}


def test_a_character_above_the_basic_plane_is_two_clocks_and_one_word() -> None:
    alice, index = _Writer(1, "alice"), Attribution()
    text = alice.paragraph()
    text.insert(0, "hi \U0001f600\U0001f600 x")
    inserted = [index.credit(read_update(u, 64, strings=True), "alice") for u in alice.take()]
    assert [(c.inserted, c.words_inserted) for c in inserted[-1].values()] == [(9, 3)]
    # pycrdt's text offsets count UTF-8 bytes: four for each emoji.
    _type(text, 13, "y")  # typed right after "x", whose clock is after both surrogate pairs
    del text[3:11]
    assert str(text) == "hi  xy"
    credited = [index.credit(read_update(u, 64, strings=True), "alice") for u in alice.take()]
    assert [(c.inserted, c.deleted, c.words_inserted, c.words_deleted)
            for credits in credited for c in credits.values()] == [(1, 0, 0, 0), (0, 4, 0, 1)]


def test_concurrent_typing_from_two_docs_is_credited_to_each() -> None:
    alice, bob = _Writer(1, "alice"), _Writer(2, "bob")
    text = alice.paragraph()
    _type(text, 0, "hello")
    for update in alice.updates:
        bob.doc.apply_update(update)
    bob_text = _first_text(bob.doc)
    _type(text, 5, " world")  # both type after "hello", neither seeing the other
    _type(bob_text, 5, "s and you")
    index = Attribution()
    assert _words(index, alice.updates, "alice") == {"alice": (2, 0)}
    assert _words(index, bob.take(), "bob") == {"bob": (2, 0)}  # "s" continues "hello"
    # Bob's copy, merged: bob erases "world", which alice typed.
    for update in alice.take():
        bob.doc.apply_update(update)
    merged = str(bob_text)
    start = merged.index("world")
    del bob_text[start - 1:start + 5]
    assert _words(index, bob.take(), "bob") == {"bob": (0, 1)}


def test_a_whole_state_in_one_update_follows_origins_across_clients() -> None:
    for alice_id, bob_id in ((1, 2), (2, 1)):  # the dependent client first, then last
        alice, bob = _Writer(alice_id, "alice"), _Writer(bob_id, "bob")
        text = alice.paragraph()
        _type(text, 0, "hello")
        bob.doc.apply_update(alice.doc.get_update())
        bob_text = _first_text(bob.doc)
        _type(bob_text, 5, "s to")
        index = Attribution()
        assert _words(index, [bob.doc.get_update()], "loaded") == {"loaded": (2, 0)}


def test_an_erasure_that_arrives_first_is_credited_words_when_the_text_arrives() -> None:
    alice, bob = _Writer(1, "alice"), _Writer(2, "bob")
    alice.paragraph().insert(0, "one two three")
    for update in alice.updates:
        bob.doc.apply_update(update)
    bob_text = _first_text(bob.doc)
    bob.take()
    del bob_text[3:13]
    index = Attribution()
    assert _words(index, bob.take(), "bob") == {}
    assert _words(index, alice.take(), "alice") == {"alice": (3, 0), "bob": (0, 2)}


def test_a_loaded_index_credits_words_erased_after_a_restart() -> None:
    alice = _Writer(1, "alice")
    text = alice.paragraph()
    _type(text, 0, "keep these words")
    del text[0:5]
    index = Attribution()
    index.load(alice.doc.get_update())
    alice.take()
    del text[0:6]
    _type(text, 0, "new")  # after the erased run, which follows nothing: a word
    assert _words(index, alice.take(), "alice") == {"alice": (1, 1)}
