"""Snippets: the passage of a text around what matched, the matched words marked.

Made here rather than by the engines (FTS5's `snippet()`, PostgreSQL's `ts_headline`) because
those tokenise the whole text of every result again: on a 100,000-character section that is
several milliseconds a result, most of a search's time. Here the first match is found with
`str.find` on the lower-cased text (C speed, no regular expression over the whole text), and
only a short passage around it is marked. Words are matched case-insensitively at word
boundaries, as the engines tokenise; a match the engine made by folding diacritics (FTS5
finds "café" for "cafe") is not marked, and the snippet then falls back to the text's start.
"""

from __future__ import annotations

import re

from app.search.words import MARK_END, MARK_START

# Characters of context kept before the first match, and the passage's length.
_BEFORE = 60
_LENGTH = 240
_ELLIPSIS = "…"


def word_pattern(words: list[str]) -> re.Pattern[str]:
    """Any of the words, as a whole word (no letter or digit on either side)."""
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)


def mark(text: str, pattern: re.Pattern[str]) -> str:
    """The whole text with every match marked (for titles, which are short)."""
    return pattern.sub(lambda m: f"{MARK_START}{m.group(0)}{MARK_END}", text)


def _is_word_char(char: str) -> bool:
    return char.isalnum()


def _whole_word_at(text: str, at: int, length: int) -> bool:
    after = at + length
    return ((at == 0 or not _is_word_char(text[at - 1]))
            and (after == len(text) or not _is_word_char(text[after])))


def _first_whole(text: str, word: str, before: int | None) -> int | None:
    """The first whole-word occurrence of `word` (exactly as given) before `before`."""
    at = text.find(word)
    while at != -1 and (before is None or at < before):
        if _whole_word_at(text, at, len(word)):
            return at
        at = text.find(word, at + 1)
    return None


def first_match(text: str, words: list[str]) -> int | None:
    """Where the first of the words occurs in the text as a whole word, in any case, or None.

    The usual spellings (lower case, Capitalised, UPPER) are looked for as they are, which
    needs no copy of the text; only when none occurs is the text lower-cased whole."""
    best: int | None = None
    for word in words:
        for spelling in dict.fromkeys((word, word.capitalize(), word.upper())):
            found = _first_whole(text, spelling, best)
            if found is not None:
                best = found
    if best is not None:
        return best
    lowered = text.lower()
    if len(lowered) != len(text):
        # A few characters lower-case to two (İ): positions would shift, so ask the slow way.
        found_at = word_pattern(words).search(text)
        return found_at.start() if found_at is not None else None
    for word in words:
        found = _first_whole(lowered, word, best)
        if found is not None:
            best = found
    return best


def passage(text: str, words: list[str], first: int | None) -> str:
    """About `_LENGTH` characters around the first match (`first_match`), cut at spaces,
    matches marked; the start of the text if nothing matches."""
    pattern = word_pattern(words)
    start = 0 if first is None else max(0, first - _BEFORE)
    end = min(len(text), start + _LENGTH)
    if start > 0:
        space = text.find(" ", start, first if first is not None else end)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    excerpt = " ".join(text[start:end].split())
    return "".join((_ELLIPSIS if start > 0 else "", mark(excerpt, pattern),
                    _ELLIPSIS if end < len(text) else ""))
