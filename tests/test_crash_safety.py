"""Crash safety through a real server process and a real `kill -9`.

Ten clients type into one document; the server is SIGKILLed mid-burst and restarted on the same
database. What the database alone kept must be, for every client, a hole-free prefix of what it
sent, and complete for clients that left at least one flush interval before the crash. Once the
survivors reconnect and resync (the y-websocket handshake, from the Doc they kept), the document
holds every edit anyone made.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable

import websockets

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

# The server's promise: an update is durable within one flush interval plus the commit time.
FLUSH_INTERVAL_MS = 50
# Headroom for the commit itself (and for one already running when the last update arrived) on
# a machine that is also running ten busy clients. Far below any interval that would hide a
# lost queue: with the server at 5000 ms the early leavers' check fails, as it must.
COMMIT_ALLOWANCE_S = 0.1
DURABLE_AFTER_S = FLUSH_INTERVAL_MS / 1000 + COMMIT_ALLOWANCE_S

CLIENTS = 10
EARLY_LEAVERS = (0, 1)  # stop typing and disconnect before the crash
EARLY_EDITS = 40  # what each early leaver types before it leaves
MAX_EDITS = 5000  # a bound on survivors, who type until the crash cuts them off
SEED = 20240917

TOKEN = re.compile(r"<c(\d+):(\d+)>")


def token(client: int, n: int) -> str:
    return f"<c{client}:{n}>"


async def _url(server: ServerProcess, api: Api, document_id: str) -> str:
    return f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"


async def _client(server: ServerProcess, api: Api, document_id: str) -> YClient:
    return await YClient(await _url(server, api, document_id)).connect_synced()


async def _reconnect(old: YClient, server: ServerProcess, api: Api, document_id: str) -> YClient:
    """A new connection for the same local replica: the handshake resyncs both ways."""
    return await YClient(await _url(server, api, document_id), resume=old).connect_synced()


def _tokens(text: str) -> list[tuple[int, int]]:
    """The (client, n) tokens in document order; the text must consist of tokens only."""
    assert re.fullmatch(r"(?:<c\d+:\d+>)*", text), f"text is not a run of tokens: {text!r}"
    return [(int(c), int(n)) for c, n in TOKEN.findall(text)]


def _check_per_client(text: str, sent: list[int], where: str) -> dict[int, list[int]]:
    """Each token at most once, nothing never sent, and each client's in the order it sent.

    Returns, per client, the token numbers present in document order.
    """
    found: dict[int, list[int]] = {i: [] for i in range(CLIENTS)}
    for client, n in _tokens(text):
        assert client in found and n < sent[client], (
            f"{where}: {token(client, n)} was never sent (client c{client} sent {sent[client]})"
        )
        found[client].append(n)
    for client, numbers in found.items():
        assert len(numbers) == len(set(numbers)), (
            f"{where}: client c{client} has duplicated tokens "
            f"{sorted({n for n in numbers if numbers.count(n) > 1})}"
        )
        assert numbers == sorted(numbers), (
            f"{where}: client c{client}'s tokens are out of send order: {numbers}"
        )
    return found


async def _type(client: YClient, index: int, count: int, rng: random.Random,
                sent: list[int]) -> str:
    """Append tagged tokens at the end with small random pauses; return why it stopped.

    A token counts as sent once it is in the client's own replica: an edit whose send fails on
    a dead socket is still there and goes out with the resync.
    """
    for n in range(count):
        if client.closed.is_set():
            return "disconnected"
        sent[index] = n + 1
        try:
            await client.append(token(index, n))
        except websockets.ConnectionClosed:
            return "disconnected"
        await asyncio.sleep(rng.uniform(0.001, 0.008))  # pacing, not synchronisation
    return "done"


async def test_kill_9_mid_burst_loses_no_edit_and_keeps_prefixes(
    start_server: Callable[..., ServerProcess],
) -> None:
    started = time.monotonic()
    server = start_server(flush_interval_ms=str(FLUSH_INTERVAL_MS))
    api = await Api(server.base_url).sign_up()
    try:
        document_id = await api.create_document("crash")
        clients = [await _client(server, api, document_id) for _ in range(CLIENTS)]
        sent = [0] * CLIENTS
        rngs = [random.Random(SEED + i) for i in range(CLIENTS)]
        survivors = [i for i in range(CLIENTS) if i not in EARLY_LEAVERS]

        bursts = {
            i: asyncio.create_task(_type(clients[i], i, MAX_EDITS, rngs[i], sent))
            for i in survivors
        }

        async def leave_early(i: int) -> None:
            assert await _type(clients[i], i, EARLY_EDITS, rngs[i], sent) == "done"
            # The close handshake completes only after the server read every frame before it.
            await clients[i].close()

        async with asyncio.timeout(10):
            await asyncio.gather(*(leave_early(i) for i in EARLY_LEAVERS))
        left_at = time.monotonic()
        assert all(not b.done() for b in bursts.values()), "survivors stopped before the crash"
        await asyncio.sleep(DURABLE_AFTER_S)  # the durability window the server promises

        # kill -9 while the survivors keep typing (from another thread, so they do).
        killed_after = time.monotonic() - left_at
        await asyncio.to_thread(server.kill)
        async with asyncio.timeout(10):
            reasons = await asyncio.gather(*bursts.values())
        assert reasons == ["disconnected"] * len(survivors), (
            f"survivors must be cut off mid-burst by the crash, got {reasons}"
        )
        assert killed_after >= FLUSH_INTERVAL_MS / 1000

        await asyncio.to_thread(server.restart)

        # What the database alone kept: a fresh client that never sent anything, before any
        # survivor resyncs.
        observer = await _client(server, api, document_id)
        stored = str(observer.text())
        await observer.close()
        kept = _check_per_client(stored, sent, "after restart, from the database alone")
        for i in range(CLIENTS):
            holes = sorted(set(range(max(kept[i], default=-1) + 1)) - set(kept[i]))
            assert not holes, (
                f"client c{i}: the database kept {len(kept[i])} of its {sent[i]} tokens "
                f"with holes at {holes}: not a prefix of what it sent"
            )
        for i in EARLY_LEAVERS:
            missing = sorted(set(range(sent[i])) - set(kept[i]))
            assert not missing, (
                f"client c{i} disconnected {killed_after * 1000:.0f} ms before the kill "
                f"(flush interval {FLUSH_INTERVAL_MS} ms) yet the database lacks its tokens "
                f"{missing} of 0..{sent[i] - 1}"
            )
        lost = {i: sent[i] - len(kept[i]) for i in survivors if sent[i] > len(kept[i])}

        # The survivors reconnect with fresh tickets on the replicas they kept and resync.
        async with asyncio.timeout(15):
            resynced = [await _reconnect(clients[i], server, api, document_id)
                        for i in survivors]

        def complete(text: str) -> bool:
            present = set(_tokens(text))
            return all((i, n) in present for i in range(CLIENTS) for n in range(sent[i]))

        final = await _client(server, api, document_id)
        try:
            await final.wait_for(lambda: complete(str(final.text())), timeout=10)
        except (AssertionError, TimeoutError) as exc:
            found = _check_per_client(str(final.text()), sent, "after resync")
            lacking = {f"c{i}": sorted(set(range(sent[i])) - set(found[i]))
                       for i in range(CLIENTS) if len(found[i]) < sent[i]}
            raise AssertionError(f"after resync the document still lacks {lacking}") from exc
        text = str(final.text())
        _check_per_client(text, sent, "after resync")
        # Everyone converges on that same text.
        for client in resynced:
            await client.wait_text(text, timeout=10)
        for client in (final, *resynced):
            await client.close()

        print(f"\nsent {sum(sent)} edits ({sent}); the database kept all but {lost} "
              f"(restored by resync); kill {killed_after * 1000:.0f} ms after the early "
              f"leavers closed; {time.monotonic() - started:.1f} s in all")
    finally:
        await api.aclose()
