"""Storage faults on real servers and real databases (issue 7, "Storage faults").

The database goes away (PostgreSQL behind a test-owned TCP proxy that is cut for 10 s), the disk
fills up (SQLite capped with `WIDEN_SQLITE_MAX_PAGES`, then space freed), and the database
refuses one update for good (a trigger or CHECK constraint the test adds to its own database).
In every case the live documents keep syncing between connected clients, the writer says what
is wrong in a few clear log lines instead of a traceback per retry, and nothing acknowledged is
lost: after a restart a fresh client gets every edit (or, for the refused one, the quarantine
table holds it).

The outage needs PostgreSQL: in the SQLite pass of the suite it makes a PostgreSQL database of
its own on the server every machine runs (`.ci/run` starts it). The full disk needs SQLite: in
the PostgreSQL pass it uses a SQLite file of its own. Neither is ever skipped.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Text, create_update_message
from sqlalchemy import text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.api import Api
from tests.support.pgadmin import create_database, drop_database, postgres_url
from tests.support.server import ServerProcess
from tests.support.tcpproxy import TcpProxy
from tests.support.yclient import YClient

OUTAGE_S = 10.0
# A batch is 10 updates, so the writer's backlog bound is 40 (4 batches).
SMALL_BATCH = 10
BACKLOG_BOUND = 4 * SMALL_BATCH
FLOOD = 100

TOKEN = re.compile(r"<([a-z]+)(\d+)>")


async def _health(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        body: dict[str, Any] = (await http.get("/api/health")).json()
        return body


async def _wait_health(server: ServerProcess, predicate: Callable[[dict[str, Any]], bool],
                       what: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll `/api/health` (another process: there is nothing to await) until `predicate`."""
    deadline = time.monotonic() + timeout
    health = await _health(server)
    while not predicate(health):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s; health is {health}")
        await asyncio.sleep(0.05)
        health = await _health(server)
    return health


def _log_entries(server: ServerProcess, logger: str | None = None) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    return [e for e in entries if logger is None or e.get("logger") == logger]


def _events(server: ServerProcess, event: str) -> list[dict[str, Any]]:
    return [e for e in _log_entries(server) if e.get("event") == event]


async def _client(server: ServerProcess, api: Api, document_id: str) -> YClient:
    url = f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    return await YClient(url).connect_synced()


def _shows(client: YClient, marker: str) -> Callable[[], bool]:
    return lambda: marker in str(client.text())


def _tokens(body: str) -> list[str]:
    return [f"{who}{n}" for who, n in TOKEN.findall(body)]


def _assert_every_token_once(body: str, expected: set[str], where: str) -> None:
    found = _tokens(body)
    duplicated = sorted({t for t in found if found.count(t) > 1})
    missing = sorted(expected - set(found))
    assert not missing and not duplicated, (
        f"{where}: missing {missing}, duplicated {duplicated}")


@pytest.fixture
async def postgres_via_proxy() -> AsyncIterator[tuple[str, TcpProxy]]:
    """A PostgreSQL database of this test's own, and its URL through a proxy the test cuts."""
    admin_url = postgres_url()
    database_url = await create_database(admin_url)
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    try:
        yield (target.set(host="127.0.0.1", port=proxy.port)
               .render_as_string(hide_password=False), proxy)
    finally:
        proxy.close()
        await drop_database(database_url, admin_url)


async def test_database_unreachable_for_10_s_edits_keep_syncing_and_nothing_is_lost(
    postgres_via_proxy: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    """PostgreSQL cut off for 10 s. Two clients keep syncing (the backlog is under its bound);
    a third floods until the backlog reaches the bound and is then paused, not disconnected;
    once the database is back everything commits, and a restarted server has every edit."""
    database_url, proxy = postgres_via_proxy
    server = ServerProcess(database_url, tmp_path / "server.log",
                           flush_max_updates=str(SMALL_BATCH))
    # The proxy forwards on its own thread, but starting and stopping block this loop.
    await asyncio.to_thread(server.start)
    api = await Api(server.base_url).sign_up()
    try:
        document_id = await api.create_document("outage")
        a = await _client(server, api, document_id)
        b = await _client(server, api, document_id)
        flood = await _client(server, api, document_id)
        await a.append("<a0>")
        await _wait_health(server, lambda h: h["updates_written"] >= 1, "first edit stored")

        proxy.cut()
        cut_at = time.monotonic()
        # Under the bound: the two keep syncing both ways while nothing can be stored.
        for n in range(1, 6):
            await a.append(f"<a{n}>")
            await b.wait_for(_shows(b, f"<a{n}>"), timeout=3)
            await b.append(f"<b{n}>")
            await a.wait_for(_shows(a, f"<b{n}>"), timeout=3)
        health = await _wait_health(server, lambda h: h["write_failing_since"] is not None,
                                    "health tells that writes fail")
        assert health["pending_writes"] == 10 and health["writers_paused"] == 0, health
        assert health["write_backlog_limit"] == BACKLOG_BOUND, health

        # At the bound: the flooding client is paused; what it sent waits in its socket.
        for n in range(FLOOD):
            await flood.append(f"<f{n}>")
        health = await _wait_health(server, lambda h: h["writers_paused"] == 1,
                                    "the flooding writer is paused")
        assert health["pending_writes"] == BACKLOG_BOUND, health
        reached = health["pending_writes"]
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))
        seen = [t for t in _tokens(str(b.text())) if t.startswith("f")]
        assert len(seen) == BACKLOG_BOUND - 10, (
            f"b saw {len(seen)} of the flood's {FLOOD} edits while storage was down: the "
            f"flood should have been paused once the backlog reached {BACKLOG_BOUND}")
        assert not flood.closed.is_set(), f"flood closed: {flood.close_code}"

        proxy.restore()
        restored_at = time.monotonic()
        outage = restored_at - cut_at
        expected = {f"a{n}" for n in range(6)} | {f"b{n}" for n in range(1, 6)} | {
            f"f{n}" for n in range(FLOOD)}
        health = await _wait_health(server, lambda h: h["updates_written"] == len(expected)
                                    and h["pending_writes"] == 0 and h["writers_paused"] == 0
                                    and h["write_failing_since"] is None, "the backlog drains")
        drained_in = time.monotonic() - restored_at
        await b.wait_for(lambda: expected <= set(_tokens(str(b.text()))), timeout=10)
        for client in (a, b, flood):
            assert not client.closed.is_set(), f"disconnected: {client.close_code}"

        # One failure streak: one line with the traceback, then short periodic lines, then
        # one line when storage is back. Not a traceback per retry.
        store_lines = _log_entries(server, "widen.store")
        failing = _events(server, "store.commit_failing")
        still = _events(server, "store.still_failing")
        recovered = _events(server, "store.recovered")
        assert len(failing) == 1 and "exc" in failing[0], failing
        assert len([e for e in store_lines if "exc" in e]) == 1, [
            e.get("event") for e in store_lines if "exc" in e]
        assert still and all(e["backlog"] > 0 and e["failing_seconds"] > 0 for e in still)
        assert "still failing" in still[0]["msg"] and "backlog" in still[0]["msg"]
        assert len(recovered) == 1 and recovered[0]["failing_seconds"] >= OUTAGE_S * 0.9
        assert _events(server, "store.backlog_full"), "reaching the bound is not logged"
        assert proxy.connections_refused > 0 and proxy.connections_cut > 0

        for client in (a, b, flood):
            await client.close()
        await server.aterminate()
        await asyncio.to_thread(server.restart)
        fresh = await _client(server, api, document_id)
        _assert_every_token_once(str(fresh.text()), expected, "after a restart")
        await fresh.close()
        print(f"\noutage {outage:.1f} s; backlog reached {reached} (bound {BACKLOG_BOUND}), "
              f"flood paused at {len(seen)} of {FLOOD}; drained {drained_in:.2f} s after "
              f"restore; {len(expected)} edits sent, {len(expected)} stored; "
              f"{len(still)} still-failing lines, {proxy.connections_refused} connections "
              "refused during the outage")
    finally:
        await api.aclose()
        await asyncio.to_thread(server.stop)


# The SQLite file is capped at this many pages (4 KiB each): 4 MiB.
MAX_PAGES = 1000


def _fill(path: Path) -> int:
    """Fill the database file up to the cap with a ballast table, as another program filling
    the disk would; return the bytes written."""
    written = 0
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute(f"PRAGMA max_page_count={MAX_PAGES}")
        conn.execute("CREATE TABLE ballast (data BLOB NOT NULL)")
        for size in (64 * 1024, 4096, 512, 64):
            while True:
                try:
                    conn.execute("INSERT INTO ballast VALUES (zeroblob(?))", (size,))
                    conn.commit()
                    written += size
                except sqlite3.OperationalError as exc:
                    assert "full" in str(exc), exc  # the only refusal expected here
                    conn.rollback()
                    break
    return written


def _free(path: Path) -> None:
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute("DELETE FROM ballast")


async def test_a_full_disk_fails_writes_clearly_and_the_backlog_commits_once_space_is_freed(
    tmp_path: Path,
) -> None:
    """SQLite's file reaches its size cap: commits fail with "database or disk is full", the
    two clients keep syncing in memory, and freeing space lets the whole backlog commit."""
    path = tmp_path / "full.db"
    server = ServerProcess(f"sqlite+aiosqlite:///{path}", tmp_path / "server.log",
                           sqlite_max_pages=str(MAX_PAGES))
    await asyncio.to_thread(server.start)
    api = await Api(server.base_url).sign_up()
    try:
        document_id = await api.create_document("full disk")
        a = await _client(server, api, document_id)
        b = await _client(server, api, document_id)
        await a.append("<a0>")
        await _wait_health(server, lambda h: h["updates_written"] >= 1, "first edit stored")

        ballast = await asyncio.to_thread(_fill, path)
        filled_at = time.monotonic()
        filler = "." * 2000  # each edit needs a page of its own
        sent = {"a0"}

        async def exchange(n: int) -> None:
            await a.append(f"<a{n}>{filler}")
            await b.wait_for(lambda: f"<a{n}>" in str(b.text()), timeout=3)
            await b.append(f"<b{n}>{filler}")
            await a.wait_for(lambda: f"<b{n}>" in str(a.text()), timeout=3)
            sent.update({f"a{n}", f"b{n}"})

        await exchange(1)
        await _wait_health(server, lambda h: h["write_failing_since"] is not None,
                           "health tells that writes fail")
        # While nothing can be written, the two keep syncing through the server's memory.
        for n in range(2, 9):
            await exchange(n)
        assert str(a.text()) == str(b.text())
        await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - filled_at)))
        health = await _health(server)
        backlog = health["pending_writes"]
        # <a1>, committed alone (b waits to see it), may still fit in the last free page.
        assert health["write_failing_since"] is not None, health
        assert backlog + health["updates_written"] == len(sent), health
        assert backlog >= len(sent) - 2, health
        assert health["status"] == "degraded" and health["database"] is True, health
        failing = _events(server, "store.commit_failing")
        assert len(failing) == 1 and "database or disk is full" in failing[0]["error"], failing

        await asyncio.to_thread(_free, path)
        freed_at = time.monotonic()
        health = await _wait_health(server, lambda h: h["pending_writes"] == 0
                                    and h["write_failing_since"] is None, "the backlog commits")
        drained_in = time.monotonic() - freed_at
        assert health["updates_written"] == len(sent), health
        assert len(_events(server, "store.recovered")) == 1
        assert len([e for e in _log_entries(server, "widen.store") if "exc" in e]) == 1

        await a.close()
        await b.close()
        await server.aterminate()
        await asyncio.to_thread(server.restart)
        fresh = await _client(server, api, document_id)
        _assert_every_token_once(str(fresh.text()), sent, "after a restart")
        await fresh.close()
        print(f"\nballast {ballast / 1e6:.1f} MB filled the {MAX_PAGES}-page file; backlog "
              f"{backlog} edits; committed {drained_in:.2f} s after space was freed; "
              f"{len(sent)} edits sent, {len(sent)} stored")
    finally:
        await api.aclose()
        await asyncio.to_thread(server.stop)


MARKER = "REFUSE-ME-7f3a"


async def _refuse_marker(database_url: str) -> None:
    """Make this test's own database refuse, for good, any update row holding the marker."""
    marker = MARKER.encode().hex()
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text(
                    "ALTER TABLE doc_updates ADD CONSTRAINT test_refuses_marker "
                    f"CHECK (position('\\x{marker}'::bytea in data) = 0)"))
            else:
                await conn.execute(text(
                    "CREATE TRIGGER test_refuses_marker BEFORE INSERT ON doc_updates "
                    f"WHEN instr(NEW.data, X'{marker}') > 0 "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"))
    finally:
        await engine.dispose()


async def _stored(database_url: str, sql: str, **params: str) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def test_a_refused_update_is_set_aside_and_every_other_update_commits(
    start_server: Callable[..., ServerProcess], database_url: str
) -> None:
    """One update of a batch is refused by the database for good (a constraint this test adds):
    the writer finds it by splitting the batch, commits all the others, keeps it in the
    quarantine table and logs its document and size, never its content; writes go on."""
    server = start_server(flush_interval_ms="300")
    api = await Api(server.base_url).sign_up()
    try:
        document_id = await api.create_document("poisoned")
        elsewhere_id = await api.create_document("elsewhere")
        a = await _client(server, api, document_id)
        c = await _client(server, api, elsewhere_id)
        await _refuse_marker(database_url)

        # One flush window: the refused update shares its batch with others. Nobody else is
        # in the document yet (an edit someone waits to see is committed at once), and the
        # poison comes from a Yjs client of its own writing another root, so nothing else
        # builds on what it wrote; `a` carries it.
        await a.append("<a0>")
        await a.append("<a1>")
        poisoner: Doc[Any] = Doc()
        poisoner.get("scratch", type=Text).insert(0, MARKER)
        poison = poisoner.get_update()
        await a.send(create_update_message(poison))
        await a.append("<a2>")
        await a.append("<a3>")
        b = await _client(server, api, document_id)
        await b.wait_for(lambda: str(b.text()) == "<a0><a1><a2><a3>"
                         and str(b.text("scratch")) == MARKER, timeout=5)
        health = await _wait_health(server, lambda h: h["updates_set_aside"] == 1
                                    and h["pending_writes"] == 0, "the refused update set aside",
                                    timeout=10)
        assert health["updates_written"] == 4, health

        # Writes go on, in this document and elsewhere.
        await b.append("<b0>")
        await c.append("<c0>")
        await a.wait_for(lambda: str(a.text()) == "<a0><a1><a2><a3><b0>", timeout=5)
        await _wait_health(server, lambda h: h["updates_written"] == 6, "later edits stored")

        rows = await _stored(database_url, "SELECT data FROM doc_updates "
                             "WHERE document_id = :d ORDER BY id", d=document_id)
        assert [bytes(r.data) for r in rows] == [*a.sent_updates, *b.sent_updates]
        rejected = await _stored(database_url, "SELECT document_id, origin, data, reason "
                                 "FROM doc_updates_rejected")
        assert [(r.document_id, r.origin, bytes(r.data)) for r in rejected] == [
            (document_id, api.user["id"], poison)]
        assert rejected[0].reason, "the quarantine row says why it was refused"

        refused = _events(server, "store.batch_refused")
        assert refused and refused[0]["batch"] == 5, refused
        set_aside = _events(server, "store.update_set_aside")
        assert [(e["level"], e["document_id"], e["bytes"]) for e in set_aside] == [
            ("error", document_id, len(poison))]
        assert MARKER not in server.logs() and MARKER.encode().hex() not in server.logs()

        for client in (a, b, c):
            await client.close()
        await server.aterminate()
        await asyncio.to_thread(server.restart)
        fresh = await _client(server, api, document_id)
        assert str(fresh.text()) == "<a0><a1><a2><a3><b0>"
        assert str(fresh.text("scratch")) == ""
        await fresh.close()
    finally:
        await api.aclose()
