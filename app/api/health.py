"""`GET /api/health`: what an operator or a load balancer needs to know at a glance."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import text

from app.api.deps import ServicesDep
from app.api.schemas import HealthOut

router = APIRouter(prefix="/api", tags=["health"])
log = logging.getLogger("widen.health")


@router.get("/health", response_model=HealthOut)
async def health(services: ServicesDep, response: Response) -> HealthOut:
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database = True
    except Exception:
        log.exception("database unreachable", extra={"event": "health.database_down"})
        database = False
    if not database:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(
        status="ok" if database else "degraded",
        database=database,
        rooms=services.rooms.open_rooms,
        connections=services.rooms.connections,
        pending_writes=services.store.pending,
        write_batches=services.store.batches_committed,
        updates_written=services.store.updates_committed,
        write_failures=services.store.failures,
    )
