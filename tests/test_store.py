"""The update log on a real database: compaction keeps a long-edited document quick to open and
loses nothing; rows hold who sent them; every table comes from alembic."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db import create_engine, create_sqlite_thread_engine
from app.migrate import alembic_config, upgrade
from app.settings import Settings
from crdt.schema import KIND_SNAPSHOT, doc_clients, doc_contributions, doc_updates
from crdt.store import UpdateStore
from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.stall import keystrokes
from tests.support.yclient import YClient


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


async def _wait_written(server: ServerProcess, count: int) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http, asyncio.timeout(20):
        while (await http.get("/api/health")).json()["updates_written"] < count:
            await asyncio.sleep(0.05)


async def test_long_log_is_compacted_into_a_snapshot_and_reopens_identically(
    start_server: Callable[..., ServerProcess], engine: AsyncEngine
) -> None:
    server = start_server(compaction_threshold="40", room_idle_seconds="0.2")
    api = await Api(server.base_url).sign_up()
    document_id = await api.create_document()
    writer = await YClient(
        f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    ).connect_synced()
    for i in range(150):
        await writer.append(f"{i},")
        if i % 10 == 0:
            await writer.delete(0, 1)
    expected = str(writer.text())
    await _wait_written(server, 150 + 15)
    await writer.close()

    # Compaction rebuilds the snapshot in a thread after the rows are written: give it time
    # on a loaded machine.
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(doc_updates.c.kind, doc_updates.c.origin)
                .where(doc_updates.c.document_id == document_id)
            )).all()
        if len(rows) <= 41 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert len(rows) <= 41, f"{len(rows)} rows: the log was not compacted"
    assert [r.kind for r in rows].count(KIND_SNAPSHOT) == 1
    assert {r.origin for r in rows if r.kind != KIND_SNAPSHOT} <= {api.user["id"]}

    # Reopen after the room unloaded and after a restart: the same text either way.
    reader = await YClient(
        f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    ).connect_synced()
    assert str(reader.text()) == expected
    await reader.close()
    await server.aterminate()
    server.restart()
    reader = await YClient(
        f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    ).connect_synced()
    assert str(reader.text()) == expected
    await reader.close()
    await api.aclose()


async def test_deleting_a_document_disconnects_it_and_keeps_its_log_for_a_restore(
    live_server: ServerProcess, alice: Api, engine: AsyncEngine
) -> None:
    """Into the trash with every acknowledged edit, so a restore brings the text back; the
    purge that deletes the log is tested in tests/test_trash.py."""
    document_id = await alice.create_document()
    client = await YClient(
        f"{live_server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}"
    ).connect_synced()
    await client.append("kept in the trash")
    assert (await alice.http.delete(f"/api/documents/{document_id}")).status_code == 204
    assert await client.wait_closed() == 4404
    async with engine.connect() as conn:
        kept = (await conn.execute(
            select(doc_updates.c.id).where(doc_updates.c.document_id == document_id)
        )).all()
    assert kept != []
    assert (await alice.http.post(f"/api/documents/{document_id}/restore")).status_code == 200
    reader = await YClient(
        f"{live_server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}"
    ).connect_synced()
    assert str(reader.text()) == "kept in the trash"
    await reader.close()


@pytest.mark.empty_database
async def test_schema_comes_from_alembic_and_downgrades_cleanly(database_url: str) -> None:
    from alembic import command

    config = alembic_config(database_url)
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert {"users", "sessions", "documents", "ws_tickets", "doc_updates",
                    "alembic_version"} <= tables
        await asyncio.to_thread(command.downgrade, config, "base")
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert tables <= {"alembic_version"}
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert len(version) == 1
    finally:
        await engine.dispose()


@pytest.mark.timing
async def test_opening_a_long_document_does_not_hold_up_other_requests(
    start_server: Callable[..., ServerProcess], engine: AsyncEngine
) -> None:
    """Loading a room applies its whole log: 50,000 rows take the engine about a second, which
    on the event loop every other request of the process waited out."""
    server = start_server(compaction_threshold="1000000000")
    api = await Api(server.base_url).sign_up()
    document_id = await api.create_document()
    updates, expected = keystrokes(50_000)
    async with engine.begin() as conn:
        await conn.execute(insert(doc_updates), [
            {"document_id": document_id, "origin": api.user["id"], "kind": 0,
             "created_at": 0, "data": update} for update in updates])

    async def open_document() -> str:
        reader = await YClient(
            f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
        ).connect_synced(timeout=60)
        text = str(reader.text())
        await reader.close()
        return text

    opening = asyncio.create_task(open_document())
    begun = time.perf_counter()
    slowest = 0.0
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        while not opening.done():
            asked = time.perf_counter()
            assert (await http.get("/api/health")).status_code == 200
            slowest = max(slowest, time.perf_counter() - asked)
    took = time.perf_counter() - begun
    assert await opening == expected
    assert took > 0.3, f"opening took {took:.2f} s: too quick to show a stall"
    assert slowest < took / 4, (f"/api/health took up to {slowest:.3f} s while the document "
                                f"opened in {took:.2f} s")
    await api.aclose()


async def test_the_writer_commits_while_every_shared_connection_is_taken(
    database_url: str, tmp_path: Path
) -> None:
    """A burst of other work (word counts, admissions) can hold the whole shared pool for a
    while; the writer has a connection of its own, so commits, and so relays, go on."""
    await asyncio.to_thread(upgrade, database_url)
    settings = Settings(database_url=database_url, database_pool_size=2,
                        database_max_overflow=0)
    shared = create_engine(settings)
    writer = create_engine(settings, connections=1)
    store = UpdateStore(writer, log_engine=shared, flush_interval=0.01, max_batch=100,
                        compaction_threshold=1000, rejected_dir=tmp_path)
    store.start()
    # SQLite's default pool has no set size: hold as many as it gives within a moment.
    held = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):
            for _ in range(20):
                held.append(await shared.connect())
    try:
        updates, _ = keystrokes(3)
        seqs = [store.append("held-pool", None, update) for update in updates]
        async with asyncio.timeout(5):
            await store.wait_durable(seqs[-1])
    finally:
        for conn in held:
            await conn.close()
        await store.stop()
    assert len(await store.log.read("held-pool")) == 3
    await writer.dispose()
    await shared.dispose()


async def test_two_processes_writers_never_deadlock_on_shared_counters(
    database_url: str, tmp_path: Path
) -> None:
    """Two processes' writers commit batches about the same documents and sender at once: the
    counters they both add to (contributions, attribution, client ids) are upserted in one
    order, so one writer may wait for the other but never deadlock (PostgreSQL breaks a
    deadlock after a second by failing one side, which then retries: a second-long stall of
    every relay, seen in the two-process bench)."""
    await asyncio.to_thread(upgrade, database_url)
    settings = Settings(database_url=database_url)
    engines = [create_engine(settings, connections=1) for _ in range(2)]
    stores = [UpdateStore(engine, flush_interval=0.005, max_batch=1000,
                          compaction_threshold=10**9, rejected_dir=tmp_path)
              for engine in engines]
    for store in stores:
        store.start()
    documents = [f"shared-{i:03d}" for i in range(300)]
    updates, _ = keystrokes(1)
    try:
        for _round in range(20):
            seqs = [
                [store.append(document, "the-same-writer", updates[0], claimed_clients=(7,))
                 for document in (documents if index == 0 else documents[::-1])]
                for index, store in enumerate(stores)
            ]
            async with asyncio.timeout(20):
                await asyncio.gather(*(store.wait_durable(s[-1])
                                       for store, s in zip(stores, seqs, strict=True)))
    finally:
        for store in stores:
            await store.stop()
        for engine in engines:
            await engine.dispose()
    assert [store.failures for store in stores] == [0, 0], "a commit failed and was retried"


async def test_a_flush_is_one_statement_on_postgresql_and_one_hop_to_a_thread_on_sqlite(
    database_url: str, tmp_path: Path
) -> None:
    """A commit's round trips are the writer's cost per flush: on PostgreSQL the batch's rows
    go as arrays in one statement, its own transaction (through BEGIN, four inserts and
    COMMIT it was six round trips); SQLite, in process, takes one insert per table, all on
    the writer's own thread (through aiosqlite every statement was three hops to its thread
    and back)."""
    await asyncio.to_thread(upgrade, database_url)
    settings = Settings(database_url=database_url)
    writer = create_engine(settings, connections=1)
    thread_engine = create_sqlite_thread_engine(settings) if settings.is_sqlite else None
    statements: list[tuple[str, int]] = []
    event.listen(thread_engine or writer.sync_engine, "before_cursor_execute",
                 lambda _conn, _cursor, sql, *_rest: statements.append(
                     (sql, threading.get_ident())))
    store = UpdateStore(writer, thread_engine=thread_engine, flush_interval=0.01,
                        max_batch=100, compaction_threshold=1000, rejected_dir=tmp_path)
    store.start()
    try:
        updates, _ = keystrokes(3)
        seqs = [store.append("one-flush", "writer-1", update, claimed_clients=(11,))
                for update in updates]
        await store.wait_durable(seqs[-1])
    finally:
        await store.stop()
    flush = list(statements)
    async with writer.connect() as conn:
        contributions = (await conn.execute(
            select(doc_contributions.c.updates).where(
                doc_contributions.c.document_id == "one-flush"))).scalar_one()
        owners = (await conn.execute(
            select(doc_clients.c.client_id, doc_clients.c.origin).where(
                doc_clients.c.document_id == "one-flush"))).all()
    await writer.dispose()
    if thread_engine is not None:
        thread_engine.dispose()
    assert len(await store.log.read("one-flush")) == 3
    assert contributions == 3
    assert [tuple(row) for row in owners] == [(11, "writer-1")]
    assert store.batches_committed == 1
    expected = 1 if database_url.startswith("postgresql") else 3
    assert len(flush) == expected, flush
    if thread_engine is not None:
        threads = {thread for _sql, thread in flush}
        assert len(threads) == 1 and threading.get_ident() not in threads
