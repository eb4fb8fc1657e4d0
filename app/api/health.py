"""`GET /api/health`: what an operator or a load balancer needs to know at a glance.

503 only when the database cannot be reached. While the update writer's commits fail (a full
disk, say) the status is "degraded" with a 200: the server still relays edits in memory, and
`write_failing_since`, `pending_writes` and `writers_paused` tell how far it got.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from sqlalchemy import text

from app.api.deps import ServicesDep
from app.api.schemas import HealthOut
from crdt.faults import describe

router = APIRouter(prefix="/api", tags=["health"])
log = logging.getLogger("widen.health")


@router.get("/health", response_model=HealthOut)
async def health(services: ServicesDep, response: Response) -> HealthOut:
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database = True
    except Exception as exc:
        # One line per probe, no traceback: a load balancer polls this every few seconds
        # through a whole outage, and the writer already reported the streak with one.
        log.warning("database unreachable: %s", describe(exc),
                    extra={"event": "health.database_down", "error": describe(exc)})
        database = False
    if not database:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    store = services.store
    failing_since = store.failing_since
    return HealthOut(
        status="ok" if database and failing_since is None else "degraded",
        database=database,
        rooms=services.rooms.open_rooms,
        connections=services.rooms.connections,
        pending_writes=services.store.pending,
        write_batches=services.store.batches_committed,
        updates_written=services.store.updates_committed,
        write_failures=services.store.failures,
        write_failing_since=(None if failing_since is None
                             else datetime.fromtimestamp(failing_since, UTC)),
        write_backlog_limit=store.backlog_limit,
        writers_paused=store.paused,
        updates_set_aside=store.updates_set_aside,
        search_pending=services.search_index.pending,
        search_indexed=services.search_index.documents_indexed,
    )
