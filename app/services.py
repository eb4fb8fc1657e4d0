"""The long-lived parts of a running server, built once by the app factory's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.admission import AdmissionGate
from app.connections import Connections
from app.event_fanout import EventFanout
from app.history.checkpointer import Checkpointer
from app.jobs import Jobs
from app.limits import Limits
from app.live import LiveAccess
from app.outbox import MailSender
from app.passwords import PasswordHashing
from app.progress import TextFigureCache
from app.progress_events import ProgressNotices
from app.search.indexer import SearchIndexer
from app.settings import Settings
from app.workers import TextWorkers
from app.ws_admission import Knock, Verdict
from crdt.broker import Broker
from crdt.rooms import Rooms
from crdt.store import UpdateStore


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: UpdateStore
    rooms: Rooms
    text_workers: TextWorkers
    text_figures: TextFigureCache
    progress_notices: ProgressNotices
    connections: Connections
    broker: Broker
    events: EventFanout
    # Live event channels (`/ws/events`), counted apart from document sockets.
    event_connections: Connections
    passwords: PasswordHashing
    # Rate limits and connection caps, per process or shared through Redis (`app.limits`).
    limits: Limits
    search_index: SearchIndexer
    # Exports and imports that outlast their request (`app.jobs`).
    jobs: Jobs
    history: Checkpointer
    # Access changes and sign-outs, acted on here and on every other process.
    live: LiveAccess
    # Websocket admissions, checked in batches; one that waits too long is told to come back.
    admissions: AdmissionGate[Knock, Verdict]
    # None when no SMTP server is configured: nothing is mailed (DESIGN §8).
    mail: MailSender | None = None

    def wake_mail(self) -> None:
        """After a commit that queued mail: send it now rather than at the next tick."""
        if self.mail is not None:
            self.mail.wake()
