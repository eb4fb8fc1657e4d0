"""The pure parts of search: what a query becomes, what the index may hold, and snippets."""

from __future__ import annotations

import pytest

from app.search.snippets import first_match, passage
from app.search.words import MARK_END, MARK_START, BadQuery, indexable, search_words


def test_a_query_becomes_plain_words_never_syntax() -> None:
    assert search_words('NEAR("a" b*) AND c:AB & !d | e') == ["near", "a", "b", "and", "c",
                                                                "ab", "d", "e"]
    assert search_words('"*() &|!:') == []
    assert search_words("Word word WORD") == ["word"]
    assert search_words("snake_case 日本語 café") == ["snake", "case", "日本語", "café"]
    with pytest.raises(BadQuery):
        search_words(" ".join(f"w{i}" for i in range(13)))


def test_the_index_holds_no_nul_no_marker_and_no_lone_surrogate() -> None:
    stored = indexable(f"a\x00b{MARK_START}c{MARK_END}d\ud800e")
    assert "\x00" not in stored and MARK_START not in stored and MARK_END not in stored
    stored.encode("utf-8")  # a lone surrogate would not encode
    assert stored.startswith("a b c d")


def test_a_passage_marks_whole_words_around_the_first_match() -> None:
    text = "Papers about paper. " + "filler " * 100 + "The paper again."
    snippet = passage(text, ["paper"], first_match(text, ["paper"]))
    assert snippet.startswith("Papers about \ue000paper\ue001.")
    assert snippet.endswith("…") and len(snippet) < 300
    late = "word " * 200 + "<b>needle</b> and Needle"
    snippet = passage(late, ["needle"], first_match(late, ["needle"]))
    assert snippet.startswith("…") and "<b>\ue000needle\ue001</b> and \ue000Needle\ue001" in snippet
    assert first_match("abc", ["zzz"]) is None
    assert passage("nothing here", ["zzz"], None) == "nothing here"
    assert first_match("a CrDt b", ["crdt"]) == 2  # neither lower, Capitalised nor UPPER
    # İ lower-cases to two characters: positions still right.
    assert first_match("İİ fiNd me", ["find"]) == 3
