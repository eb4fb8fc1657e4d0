"""Search (DESIGN §8): full text over the documents the caller may read, titles only over
those it follows as a `progress` member; anyone else's documents never appear."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentUser, DbSession
from app.api.schemas import SearchHitOut
from app.domain_errors import Invalid
from app.search.finder import find
from app.search.words import MAX_QUERY_CHARS, BadQuery, search_words

router = APIRouter(prefix="/api", tags=["search"])

MAX_RESULTS = 50


@router.get("/search", response_model=list[SearchHitOut])
async def search(
    user: CurrentUser,
    session: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS,
                            description="words to find; punctuation is ignored")],
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 20,
) -> list[SearchHitOut]:
    """Documents where all the words occur, best first: one result per document, its
    best-matching section, with the matches marked in `snippet` (see `SearchHitOut`)."""
    try:
        words = search_words(q)
    except BadQuery as exc:
        raise Invalid("q", "bad-query", str(exc), source="query") from exc
    if not words:
        return []
    return [SearchHitOut(document_id=hit.document_id, title=hit.title,
                         section_id=hit.section_id, section_title=hit.section_title,
                         snippet=hit.snippet)
            for hit in await find(session, user.id, words, limit)]
