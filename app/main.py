"""The app factory: everything is built from a `Settings`, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app import event_channel, ws
from app.access_log import AccessLog
from app.admission import AdmissionGate
from app.api import (
    account,
    auth,
    comments,
    digest,
    docs,
    documents,
    health,
    history,
    notifications,
    progress,
    search,
    sections,
    sharing,
    transfer,
    trash,
)
from app.body_limit import IMPORT_PATH, BodyLimit, import_body_limit
from app.connections import Connections
from app.db import create_engine, create_sessionmaker, create_sqlite_thread_engine
from app.digests import DigestSender
from app.errors import install_error_handlers
from app.event_fanout import EventFanout
from app.history.checkpointer import Checkpointer
from app.jobs import Jobs
from app.limits import start_limits
from app.live import LiveAccess
from app.mailer import deliver
from app.nul_path import RefuseNulInPath
from app.outbox import MailSender
from app.passwords import PasswordHashing
from app.progress import TextFigureCache
from app.progress_days import DayRecorder
from app.progress_events import ProgressNotices
from app.redis_guard import redis_client
from app.search.claims import IndexClaims
from app.search.indexer import SearchIndexer
from app.sections import retired_roots_reader
from app.security_headers import SecurityHeaders
from app.services import Services
from app.settings import Settings
from app.timeutil import now_ms, use_test_clock
from app.trash import TrashPurger
from app.workers import TextWorkers
from app.ws_admission import KnockChecker
from crdt.broker import Broker, InProcessBroker
from crdt.protocol import CloseCode
from crdt.redis_broker import RedisBroker
from crdt.room import Room
from crdt.rooms import Rooms
from crdt.store import UpdateStore

log = logging.getLogger("widen.app")

_FRONTEND_MISSING = """<!doctype html><meta charset="utf-8"><title>Widen</title>
<p>The web app has not been built. Run <code>make run</code>, which builds it.</p>"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    use_test_clock(settings.test_clock_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        writer_engine = create_engine(settings, connections=1)
        thread_engine = create_sqlite_thread_engine(settings) if settings.is_sqlite else None
        admission_engine = create_sqlite_thread_engine(settings) if settings.is_sqlite else None
        store = UpdateStore(
            writer_engine,
            log_engine=engine,
            thread_engine=thread_engine,
            flush_interval=settings.flush_interval_ms / 1000,
            max_batch=settings.flush_max_updates,
            min_gap=settings.flush_min_gap_ms / 1000,
            compaction_threshold=settings.compaction_threshold,
            rejected_dir=settings.rejected_dir,
            clock_ms=now_ms,
        )
        sessions = create_sessionmaker(engine)
        knock_checker = KnockChecker(sessions, settings.effective_origins,
                                     thread_engine=admission_engine)
        redis_broker = RedisBroker(settings.redis_url) if settings.redis_url else None
        broker: Broker = redis_broker or InProcessBroker()
        events = EventFanout(sessions, broker)
        progress_notices = ProgressNotices(store, events,
                                           settings.live_progress_interval_ms / 1000,
                                           settings.progress_record_seconds)
        text_workers = TextWorkers(settings.text_workers, settings.text_work_timeout_seconds)
        # The rooms tell history of every edit and unload; history reads their live docs: each
        # needs the other, so the rooms' callbacks reach the checkpointer made right after.
        checkpoints: list[Checkpointer] = []

        def changed(document_id: str, seq: int, origin: str | None) -> None:
            progress_notices.changed(document_id, seq, origin)
            checkpoints[0].edited(document_id, seq, origin)

        async def unloading(room: Room) -> None:
            await checkpoints[0].unloading(room)

        rooms = Rooms(
            store,
            idle_seconds=settings.room_idle_seconds,
            awareness_max_bytes=settings.awareness_max_bytes,
            max_depth=settings.max_document_depth,
            retired_roots=retired_roots_reader(sessions),
            changed=changed,
            unloading=unloading,
        )
        if redis_broker is not None:
            redis_broker.start()
            rooms.link_to(redis_broker, repair_seconds=settings.repair_seconds)
        connections, event_connections = Connections(), Connections()
        live = LiveAccess(rooms, connections, event_connections, broker)
        await live.start()
        history_checkpoints = Checkpointer(
            sessions, rooms, text_workers, quiet_seconds=settings.checkpoint_quiet_seconds,
            max_seconds=settings.checkpoint_max_seconds)
        checkpoints.append(history_checkpoints)
        passwords = PasswordHashing(settings.password_hash_workers,
                                    iterations=settings.password_hash_iterations,
                                    memory_kib=settings.password_hash_memory_kib)
        redis = redis_client(settings)  # None without WIDEN_REDIS_URL
        search_index = SearchIndexer(sessions, rooms, store.log, text_workers,
                                     delay_seconds=settings.search_index_delay_seconds,
                                     claims=IndexClaims(redis) if redis is not None else None)
        store.on_committed(search_index.changed)
        mail = (MailSender(settings, sessions, partial(deliver, settings), events.publish)
                if settings.sends_mail else None)
        text_figures = TextFigureCache(rooms, store.log, text_workers)
        progress_notices.records_with(DayRecorder(sessions, store.log, text_figures,
                                                     at_once=settings.text_workers))
        limits = start_limits(settings, redis, connections, event_connections)
        app.state.services = Services(
            settings=settings,
            engine=engine,
            sessions=sessions,
            store=store,
            rooms=rooms,
            passwords=passwords,
            limits=limits,
            mail=mail,
            text_workers=text_workers,
            text_figures=text_figures,
            progress_notices=progress_notices,
            connections=connections,
            search_index=search_index,
            history=history_checkpoints,
            broker=broker,
            events=events,
            event_connections=event_connections,
            live=live,
            admissions=AdmissionGate(knock_checker, batch=settings.admission_batch,
                                     wait_seconds=settings.admission_wait_seconds),
            jobs=Jobs(broker),
        )
        store.start()
        purger = TrashPurger(sessions, store.log, keep=timedelta(days=settings.trash_days),
                             interval=settings.trash_purge_interval_seconds)
        purger.start()
        search_index.start()
        digests = DigestSender(sessions, settings, mail.wake) if mail is not None else None
        if mail is not None:
            mail.start()
        if digests is not None:
            digests.start()
        log.info("server started", extra={"event": "server.started", "host": settings.host,
                                          "port": settings.port})
        try:
            yield
        finally:
            await purger.stop()
            if digests is not None:
                await digests.stop()
            # Tell every client, wait for every room's last writes, then stop the writer.
            await rooms.close(CloseCode.GOING_AWAY, "server shutting down")
            app.state.services.event_connections.close_all(CloseCode.GOING_AWAY,
                                                           "server shutting down")
            await limits.close()
            await history_checkpoints.stop()
            await progress_notices.close()
            await app.state.services.jobs.close()
            await live.close()
            await store.stop()
            if redis_broker is not None:
                await redis_broker.close()
            await search_index.stop()
            if mail is not None:
                await mail.stop()
            text_workers.close()
            await writer_engine.dispose()
            knock_checker.close()
            for sync_engine in (thread_engine, admission_engine):
                if sync_engine is not None:
                    sync_engine.dispose()
            await engine.dispose()
            if redis is not None:
                await redis.aclose()
            passwords.close()
            log.info("server stopped", extra={"event": "server.stopped"})

    app = ws.DocumentSocketsApp(
        title="Widen",
        version="0.1.0",
        lifespan=lifespan,
        # Served by `app.api.docs` under a policy of their own; ReDoc (which needs web workers
        # from blob: URLs and fonts from Google) is not served.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(auth.router)
    app.include_router(account.router)
    app.include_router(documents.router)
    app.include_router(sections.router)
    app.include_router(history.router)
    app.include_router(comments.router)
    app.include_router(sharing.router)
    app.include_router(trash.router)
    app.include_router(notifications.router)
    app.include_router(digest.router)
    app.include_router(progress.router)
    app.include_router(search.router)
    app.include_router(transfer.router)
    app.include_router(health.router)
    # `/ws/events`; `/ws/{document_id}` is routed by `ws.DocumentSocketsApp`, which leaves it this.
    app.include_router(event_channel.router)
    app.include_router(docs.router)

    # Middleware added later wraps what was added before. The body limit is innermost, so the
    # route reads the body through it directly (`@app.middleware` functions read it in a task
    # group, which would turn its 413 into a 400); the security headers are outermost, so they
    # reach every response. Document sockets are routed ahead of all of them
    # (`ws.DocumentSocketsApp`).
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes,
                       overrides={IMPORT_PATH: import_body_limit(settings)})

    app.add_middleware(RefuseNulInPath)
    app.add_middleware(AccessLog)
    app.add_middleware(SecurityHeaders)

    if (settings.static_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=settings.static_dir, html=True), name="frontend")
    else:
        @app.get("/", include_in_schema=False)
        async def frontend_missing() -> HTMLResponse:
            return HTMLResponse(_FRONTEND_MISSING)

    return app
