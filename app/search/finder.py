"""Searching: the database's own full-text engine, over what the searcher may read.

Each search asks twice: the whole entries (document title, section title, text) of documents
whose text the searcher reads, and the titles alone of documents they follow as a `progress`
member (`app.permissions` decides both). Entries of deleted sections are left out here, so a
deletion hides its text at once, whatever the indexer's lag. The best entry of each document
(its best-matching section) stands for it; documents are ranked by that entry's score (BM25 on
SQLite, `ts_rank` on PostgreSQL; a document title weighs most, then a section title, then the
text). Snippets are made for the few entries returned only (`app.search.snippets`), and a
`progress` member's only ever from titles: their text is not even read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Row,
    Select,
    String,
    case,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.permissions import text_readable_ids, titles_only_ids
from app.search.snippets import first_match, mark, passage, word_pattern

# How much a match counts in a document title, a section title, the text (BM25's column
# weights; PostgreSQL's weights A, B and D are ts_rank's defaults, in the same order).
_TITLE_WEIGHT, _SECTION_TITLE_WEIGHT, _BODY_WEIGHT = 4.0, 2.0, 1.0


@dataclass(frozen=True, slots=True)
class Hit:
    document_id: str
    title: str
    section_id: str | None
    section_title: str | None
    snippet: str


@dataclass(frozen=True, slots=True)
class _Ranked:
    entry_id: int
    titles_only: bool


def _snippet(words: list[str], title: str, section_title: str, body: str | None) -> str:
    """The text's passage if the text matched, else the title that did; `body` is None
    where the text may not be shown (a titles-only hit)."""
    first = first_match(body, words) if body is not None else None
    if body is not None and first is not None:
        return passage(body, words, first)
    pattern = word_pattern(words)
    for candidate in (section_title, title):
        if pattern.search(candidate):
            return mark(candidate, pattern)
    return passage(body, words, None) if body is not None else mark(title, pattern)


class _Engine:
    """One database's way of matching, scoring and marking, over `search_entries`."""

    def matches(self, words: list[str], *, titles_only: bool) -> ColumnElement[bool]:
        raise NotImplementedError

    def score(self, words: list[str], *, titles_only: bool) -> ColumnElement[float]:
        """Lower is better."""
        raise NotImplementedError

    def source(self) -> Select[int, str]:
        """`search_entries` (joined to the engine's index, if it has one of its own)."""
        return select(models.SearchEntry.id, models.SearchEntry.document_id)



_FTS = table("search_fts")
_FTS_NAME: ColumnElement[Any] = literal_column("search_fts")


class _Fts5(_Engine):
    """SQLite: the FTS5 table `search_fts` over `search_entries` (migration 0009)."""

    @staticmethod
    def expression(words: list[str], *, titles_only: bool) -> str:
        # Words hold letters and digits only, so quoting each makes it a plain term (even
        # `NEAR` or `AND`); a column filter keeps a titles-only search out of the text.
        terms = " AND ".join(f'"{word}"' for word in words)
        return f"{{title section_title}} : ({terms})" if titles_only else terms

    def matches(self, words: list[str], *, titles_only: bool) -> ColumnElement[bool]:
        return _FTS_NAME.op("MATCH", return_type=Boolean)(
            literal(self.expression(words, titles_only=titles_only), String))

    def score(self, words: list[str], *, titles_only: bool) -> ColumnElement[float]:
        return func.bm25(_FTS_NAME, _TITLE_WEIGHT, _SECTION_TITLE_WEIGHT, _BODY_WEIGHT)

    def source(self) -> Select[int, str]:
        return super().source().join(
            _FTS, literal_column("search_fts.rowid") == models.SearchEntry.id)


_TSV: ColumnElement[Any] = literal_column("search_entries.tsv")
class _TsVector(_Engine):
    """PostgreSQL: the generated, weighted `tsv` column and its GIN index (migration 0009)."""

    @staticmethod
    def query(words: list[str], *, titles_only: bool) -> ColumnElement[object]:
        # Letters and digits only (no operator, quote or colon); `:AB` keeps a titles-only
        # search to the document title (A) and section title (B).
        suffix = ":AB" if titles_only else ""
        return func.to_tsquery("simple", literal(" & ".join(f"{w}{suffix}" for w in words),
                                                 String))

    def matches(self, words: list[str], *, titles_only: bool) -> ColumnElement[bool]:
        return _TSV.op("@@", return_type=Boolean)(self.query(words, titles_only=titles_only))

    def score(self, words: list[str], *, titles_only: bool) -> ColumnElement[float]:
        # Normalisation 1: divided by 1 + the log of the entry's length.
        return -func.ts_rank(_TSV, self.query(words, titles_only=titles_only), 1)


def _engine(session: AsyncSession) -> _Engine:
    return _TsVector() if session.get_bind().dialect.name == "postgresql" else _Fts5()


async def find(session: AsyncSession, user_id: str, words: list[str], limit: int) -> list[Hit]:
    """The `limit` best documents for these words among those the user may search, each with
    its best-matching section and a snippet of it."""
    engine = _engine(session)
    # Ranked, then read: on PostgreSQL each statement sees what was committed when it began,
    # so a document re-indexed in between has new entries, and the ranked ones are gone. Then
    # rank once more; an entry still gone (its document deleted) is left out.
    for _attempt in range(2):
        ranked = await _rank(session, engine, user_id, words, limit)
        rows = await _read(session, ranked)
        if len(rows) == len(ranked):
            break
    return [
        Hit(document_id=row.document_id, title=row.title, section_id=row.section_id,
            section_title=row.section_title,
            snippet=_snippet(words, row.indexed_title, row.indexed_section, row.body))
        for r in ranked if (row := rows.get(r.entry_id)) is not None
    ]


async def _read(session: AsyncSession, ranked: list[_Ranked]) -> dict[int, Row[Any]]:
    """The ranked entries still there, by id. Titles as they are now (the entry's may be a
    few seconds old); the text only where it may be shown."""
    if not ranked:
        return {}
    titles_only = {r.entry_id for r in ranked if r.titles_only}
    entry, section = models.SearchEntry, models.Section
    return {row.id: row for row in await session.execute(
        select(entry.id, entry.document_id, entry.section_id, models.Document.title,
               section.title.label("section_title"),
               entry.title.label("indexed_title"), entry.section_title.label("indexed_section"),
               case((entry.id.in_(titles_only), null()), else_=entry.body).label("body"))
        .join(models.Document, models.Document.id == entry.document_id)
        .outerjoin(section, section.id == entry.section_id)
        .where(entry.id.in_([r.entry_id for r in ranked])))}


async def _rank(session: AsyncSession, engine: _Engine, user_id: str, words: list[str],
                limit: int) -> list[_Ranked]:
    entry, section = models.SearchEntry, models.Section

    def candidates(allowed: Any, titles_only: bool) -> Select[int, str, float, bool]:
        return (engine.source()
                .add_columns(engine.score(words, titles_only=titles_only).label("score"),
                             (true() if titles_only else false()).label("titles_only"))
                .outerjoin(section, section.id == entry.section_id)
                .where(engine.matches(words, titles_only=titles_only),
                       entry.document_id.in_(allowed),
                       section.deleted_at.is_(None)))

    # Most people follow nothing as a `progress` member: then the index is searched once.
    followed = list(await session.scalars(titles_only_ids(user_id)))
    branches = [candidates(text_readable_ids(user_id), titles_only=False)]
    if followed:
        branches.append(candidates(followed, titles_only=True))
    # Materialised: FTS5's scoring function may only run where its table is searched, not
    # inside the window function below.
    hits = union_all(*branches).cte("hits").prefix_with("MATERIALIZED")
    best = select(
        hits.c.id, hits.c.score, hits.c.titles_only,
        func.row_number().over(partition_by=hits.c.document_id,
                               order_by=(hits.c.score, hits.c.id)).label("place"),
    ).subquery()
    rows = await session.execute(
        select(best.c.id, best.c.titles_only).where(best.c.place == 1)
        .order_by(best.c.score, best.c.id).limit(limit))
    return [_Ranked(int(entry_id), bool(titles_only)) for entry_id, titles_only in rows]
