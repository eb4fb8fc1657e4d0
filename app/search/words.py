"""What a search box's text becomes: plain words, never query syntax.

Both engines have a query language (FTS5's `"`, `*`, `NEAR(`, `AND`; `to_tsquery`'s `&`, `|`,
`!`, `:`); a user typing any of it must get results, not an error. So only runs of letters
and digits are kept, and each becomes one quoted word, all of which must match. The index
tokenises text the same way (FTS5's unicode61, PostgreSQL's parser), so a word typed is a word
found.
"""

from __future__ import annotations

import re

# Long enough for any sentence someone types; longer is surely not typed.
MAX_QUERY_CHARS = 200
MAX_WORDS = 12

# How a snippet marks what matched: private-use characters, removed from everything indexed
# (`indexable`), so a marker in a snippet is always the server's. Clients render the snippet as
# text and the marked runs as highlighted text, never as HTML.
MARK_START = "\ue000"
MARK_END = "\ue001"

_WORD = re.compile(r"[^\W_]+")
_UNSTORABLE = re.compile(f"[\x00{MARK_START}{MARK_END}]")


class BadQuery(ValueError):
    """A query no search should be run for; its message says why."""


def search_words(query: str) -> list[str]:
    """The distinct words of a query, lower case, in order; none for a query of only
    punctuation (it matches nothing)."""
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(query)))
    if len(words) > MAX_WORDS:
        raise BadQuery(f"A search may have at most {MAX_WORDS} words")
    return words


def indexable(text: str) -> str:
    """Text as the index may hold it: no NUL (PostgreSQL refuses it), no snippet marker, and
    no lone surrogate (no database encodes one)."""
    cleaned = _UNSTORABLE.sub(" ", text)
    return cleaned.encode("utf-8", "replace").decode("utf-8")
