"""Configuration, read once from `WIDEN_*` environment variables (and `.env` if present)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's share, where the OS says so)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class Settings(BaseSettings):
    """Every knob an operator may turn; the defaults are the embedded single-machine setup."""

    model_config = SettingsConfigDict(env_prefix="WIDEN_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'widen.db'}"
    # FULL survives power loss; NORMAL (with WAL) survives a process crash but may lose the last
    # commits on power loss; OFF is for throwaway benchmarks only.
    sqlite_synchronous: Literal["FULL", "NORMAL", "OFF"] = "FULL"
    # Caps the SQLite file at this many pages (0: no cap). A full file fails writes exactly as
    # a full disk does, which is how the storage-fault tests fill a "disk" without root; an
    # operator may use it as a quota.
    sqlite_max_pages: int = Field(default=0, ge=0)
    # PostgreSQL connections each process keeps open, and how many more it may open for a
    # burst (closed again after use). Each process holds up to their sum, so several
    # processes together must stay under the server's `max_connections` (100 by default).
    # Too small a pool churns connections: opening one costs PostgreSQL a process fork.
    database_pool_size: int = Field(default=20, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    # Set (with PostgreSQL) when several processes serve the same documents: accepted updates,
    # awareness, access changes, live events and limits cross processes through it. Unset:
    # one process, everything in memory (DESIGN §6 "Multi-process").
    redis_url: str = ""
    # Every this many seconds each process publishes the state vector of every document it
    # holds; one that sees another ahead of it reloads what it lacks from the database, which
    # repairs what pub/sub dropped (it delivers at most once).
    repair_seconds: float = Field(default=5.0, gt=0)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    static_dir: Path = PROJECT_ROOT / "frontend" / "dist"

    session_ttl_hours: float = 24 * 14
    cookie_secure: bool = False
    # Failed logins within the window before 429: per (account, address), per address, and
    # per account (high: only a guesser spread over many addresses reaches it). 0 turns one off.
    login_max_failures: int = Field(default=5, ge=0)
    login_max_failures_per_address: int = Field(default=20, ge=0)
    login_max_failures_per_account: int = Field(default=100, ge=0)
    login_failure_window_seconds: float = Field(default=300.0, gt=0)
    # argon2 (about 100 ms of CPU and 64 MiB of memory a hash) runs in at most this many
    # threads; default one per CPU this process may use, at most 4.
    password_hash_workers: int = Field(default_factory=lambda: min(4, _usable_cpus()), ge=1)
    # argon2's cost: passes over memory, and memory per hash (KiB). Raising them makes stolen
    # hashes slower to guess and every sign-in slower too; accounts are rehashed as they sign in.
    password_hash_iterations: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=32)
    # Accounts created per client address per hour; 0 turns the limit off.
    registrations_per_hour: int = Field(default=20, ge=0)

    # Largest HTTP request body (JSON); larger ones get 413 unread. 0 turns the limit off.
    max_request_bytes: int = Field(default=1024 * 1024, ge=0)
    ticket_ttl_seconds: float = 60.0
    max_message_bytes: int = 8 * 1024 * 1024
    flush_interval_ms: float = 50.0
    # Under load, the writer lets at least this long pass between one commit and the next,
    # so each commit carries more edits: at ~1,000 edits a second, commits of 3 edits became
    # commits of ~8, and the server spent a fifth less CPU per edit. Edits arriving when the
    # writer is idle commit at once (no added latency at low rates).
    flush_min_gap_ms: float = Field(default=3.0, ge=0, le=50)
    flush_max_updates: int = 2000
    compaction_threshold: int = 1000
    # A section not done with no edit for this many days is reported as stalled.
    progress_stalled_days: int = Field(default=7, ge=1)
    # Loads of a progress page closer together than this are one visit ("since you last
    # looked" compares with the visit before).
    progress_visit_gap_seconds: float = Field(default=1800.0, ge=0)
    # A section with a due date within this many days, not done, is at risk when it has had
    # no edit for `progress_quiet_days` days (or its target is out of reach at its pace).
    progress_at_risk_days: int = Field(default=3, ge=0, le=365)
    progress_quiet_days: int = Field(default=2, ge=1, le=365)
    # Test only: a file holding an offset in seconds added to the server's clock
    # (`app.timeutil`). Refused unless `test_clock_allowed` is set as well, so a production
    # server cannot run on a fake clock by one stray variable.
    test_clock_file: Path | None = None
    test_clock_allowed: bool = False
    # An update the database refuses for good is kept in the table `doc_updates_rejected`; if
    # the database refuses even that, in a file here.
    rejected_dir: Path = PROJECT_ROOT / "var" / "rejected"
    room_idle_seconds: float = 10.0
    awareness_max_bytes: int = 8 * 1024
    # How deep shared types may nest in a document; it cannot be turned off, since turning a
    # deeper document into text makes the engine recurse until the process dies.
    # 0 turns either limit off. Beyond them a socket is closed with 4429 (reconnect later).
    max_connections_per_user: int = Field(default=32, ge=0)
    max_messages_per_second: float = Field(default=200.0, ge=0)
    # Connections of one user to one document closed for a refused message, per minute; past
    # it that user's next connections to it get 4429 until the minute is over. Each refusal
    # makes the room rebuild its guard's probe from the whole document (tenths of a second for
    # a large one), so refusals must not come as fast as reconnections can. 0: no limit.
    ws_refusals_per_minute: int = Field(default=10, ge=0)
    # Websocket admissions (ticket or cookie, then the grant: database reads) checked together
    # in one transaction, at most this many; one that cannot start within
    # `admission_wait_seconds` is closed with 1013 try-later and its client reconnects with
    # backoff (`app.admission`).
    admission_batch: int = Field(default=256, ge=1, le=4096)
    admission_wait_seconds: float = Field(default=5.0, gt=0)
    max_document_depth: int = Field(default=128, ge=1, le=4096)
    # Work that turns a document into text (word counts, export, indexing) runs in this many
    # worker processes, so an engine crash fails one request, never the server.
    text_workers: int = Field(default=1, ge=1, le=32)
    text_work_timeout_seconds: float = Field(default=60.0, gt=0)
    # A changed document is indexed for search again at most this long after its first
    # change (`app.search.indexer`), once for all the changes meanwhile: how stale search may
    # be, and how often a busy document is read. DESIGN §8 promises search "fresh within a
    # few seconds of an edit". At 2 s, indexing took 15% of a process's samples in the
    # two-process bench (100 busy documents; each process indexes every document its own
    # clients type in).
    search_index_delay_seconds: float = Field(default=5.0, ge=0, le=60)
    # History: a document being edited gets a checkpoint once its edits have paused this long,
    # and at the latest this long after the first edit the last checkpoint lacks.
    checkpoint_quiet_seconds: float = Field(default=60.0, gt=0)
    checkpoint_max_seconds: float = Field(default=3600.0, gt=0)

    # Import (DESIGN §4): the largest file taken, and the most a .docx (a zip) may unpack to,
    # counted as it unpacks (a zip bomb declares little); 0 turns either off. A conversion
    # that takes longer than `job_answer_seconds` is answered 202 with a job to follow.
    import_max_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    import_max_unzipped_bytes: int = Field(default=50 * 1024 * 1024, ge=0)
    job_answer_seconds: float = Field(default=1.0, ge=0, le=60)

    # A deleted document stays in its owner's trash, restorable, this many days; then it is
    # purged for good by a task that looks every `trash_purge_interval_seconds`.
    trash_days: float = Field(default=30.0, gt=0)
    trash_purge_interval_seconds: float = Field(default=3600.0, gt=0)

    # Events one live event channel may have waiting to be sent; a client further behind is
    # closed with 1013 (it reconnects and refetches).
    live_event_queue: int = Field(default=256, ge=1)
    # Text edits tell pages following progress at most once per document in this window.
    live_progress_interval_ms: float = Field(default=500.0, gt=0)
    # A document's words are counted for its day row at most this often while it is edited.
    progress_record_seconds: float = Field(default=30.0, ge=0)

    # Mail (DESIGN §8). Without an SMTP host no mail is sent: the share dialog offers each
    # invitation's link to copy, and accounts stay unverified (they still work on their own
    # documents). Links in mail are built on `public_url` (default: this server's address).
    public_url: str = ""
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "Widen <widen@localhost>"
    # A mail that fails is retried this many times in all, waiting `mail_retry_seconds`, then
    # twice as long each time; the failure shows on its invitation meanwhile.
    mail_max_attempts: int = Field(default=6, ge=1)
    mail_retry_seconds: float = Field(default=30.0, gt=0)
    mail_timeout_seconds: float = Field(default=30.0, gt=0)

    # The progress digest (`app.digests`): a daily one goes out once a day from this hour
    # (UTC), a weekly one on this weekday (0: Monday) from that hour. The task looks every
    # `digest_check_seconds`, and at once on SIGUSR1. `digest_day_seconds` is the length of a
    # digest "day": the tests shorten it; leave it at a day.
    digest_hour: int = Field(default=7, ge=0, le=23)
    digest_weekday: int = Field(default=0, ge=0, le=6)
    digest_check_seconds: float = Field(default=300.0, gt=0)
    digest_day_seconds: float = Field(default=86400.0, gt=0)

    log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: dict[str, object]) -> dict[str, object]:
        """Accept `WIDEN_ALLOWED_ORIGINS` as a comma-separated list, the natural shell form."""
        origins = data.get("allowed_origins")
        if isinstance(origins, str):
            data["allowed_origins"] = [o.strip() for o in origins.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _test_clock_only_in_tests(self) -> Settings:
        if self.test_clock_file is not None and not self.test_clock_allowed:
            raise ValueError("WIDEN_TEST_CLOCK_FILE is for tests only: it also needs "
                             "WIDEN_TEST_CLOCK_ALLOWED=1")
        return self

    @cached_property
    def effective_origins(self) -> frozenset[str]:
        """Browsers may open websockets only from where the app itself is served by default."""
        if self.allowed_origins:
            return frozenset(o.rstrip("/") for o in self.allowed_origins)
        return frozenset(
            {f"http://{self.host}:{self.port}", f"http://localhost:{self.port}",
             f"http://127.0.0.1:{self.port}"}
        )

    @property
    def sends_mail(self) -> bool:
        return bool(self.smtp_host)

    @property
    def link_base(self) -> str:
        """Where the web app is reached from outside: every link in a mail starts here."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
