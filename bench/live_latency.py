"""How soon an open page hears of a change (issue 8 item 4: target p99 under 1 s).

A benchmark, not a test: it prints latency figures. The bench user owns a document shared
with a second user, whose live event channel (`/ws/events`) is open. Then, one at a time:
- metadata: N changes made over HTTP by the owner (renames, new sections, section statuses, in
  turn); each is timed from just before its request to the arrival of its event on the
  member's channel;
- progress: M text edits sent by the owner over the document's websocket; each is timed from
  its send to the arrival of the `progress` event it causes (which waits out the debounce
  window, `WIDEN_LIVE_PROGRESS_INTERVAL_MS`, and the store's commit).
What a browser adds on top (a refetch of the list it shows, and drawing it) is checked by the
e2e test `tests/e2e/test_live_pages.py`, under 1 s end to end.

    .venv/bin/python bench/live_latency.py [--changes 100] [--edits 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from pycrdt import Doc, Text, TransactionEvent, create_update_message

from adapters import WidenAdapter, by_link
from ywire import YClient

TIMEOUT_S = 10.0


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100, help="metadata changes over HTTP")
    parser.add_argument("--edits", type=int, default=20, help="text edits timed to progress")
    return parser.parse_args(argv)


class Channel:
    """The member's event channel: every event with the moment it arrived."""

    def __init__(self, url: str, token: str) -> None:
        self._url, self._token = url, token
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        ws = await websockets.connect(self._url,
                                      additional_headers={"Authorization": f"Bearer {self._token}"})
        self._task = asyncio.create_task(self._read(ws))
        await self.wait(lambda e: e["type"] == "ready", 0)

    async def _read(self, ws: websockets.ClientConnection) -> None:
        async with ws:
            async for frame in ws:
                self.events.append((time.perf_counter(), json.loads(frame)))
                self._arrived.set()

    async def wait(self, match: Any, start: int) -> float:
        """When the first event from index `start` on that matches arrived."""
        async with asyncio.timeout(TIMEOUT_S):
            while True:
                self._arrived.clear()
                for at, event in self.events[start:]:
                    if match(event):
                        return at
                await self._arrived.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _summary(label: str, values_ms: list[float]) -> str:
    return (f"{label:<30} n {len(values_ms):4d}  p50 {statistics.median(values_ms):7.1f} ms  "
            f"p99 {_p99(values_ms):7.1f} ms  max {max(values_ms):7.1f} ms")


async def _member(http: httpx.AsyncClient, owner: httpx.AsyncClient, document: str) -> str:
    email = f"member-{time.time_ns()}@example.org"
    password = "correct horse battery"
    registered = await http.post("/api/auth/register",
                                 json={"email": email, "password": password, "name": "Member"})
    assert registered.status_code == 201, registered.text
    token = (await http.post("/api/auth/login",
                             json={"email": email, "password": password})).json()["token"]
    invitation = (await owner.post(f"/api/documents/{document}/invitations", json={
        "email": email, "role": "viewer", "reason": "review"})).json()
    accepted = await http.post(f"/api/invitations/{invitation['id']}/accept",
                               json=by_link(invitation),
                               headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200, accepted.text
    return str(token)


async def main(argv: list[str]) -> int:
    args = _parse(argv)
    server = WidenAdapter(Path(tempfile.mkdtemp(prefix="widen-live-")))
    await server.start()
    http = httpx.AsyncClient(base_url=server.base_url, timeout=30.0)
    owner = httpx.AsyncClient(base_url=server.base_url, timeout=30.0,
                              headers={"Authorization": f"Bearer {server.bearer_token}"})
    channel: Channel | None = None
    try:
        document = (await owner.post("/api/documents", json={"title": "Live"})).json()["id"]
        section = (await owner.post(f"/api/documents/{document}/sections",
                                    json={"title": "First"})).json()["id"]
        channel = Channel(f"ws://127.0.0.1:{server.port}/ws/events",
                          await _member(http, owner, document))
        await channel.open()

        statuses = ["in_progress", "in_review", "done", "draft"]
        metadata_ms: list[float] = []
        for index in range(args.changes):
            start = len(channel.events)
            kind = index % 3
            started = time.perf_counter()
            if kind == 0:
                response = await owner.patch(f"/api/documents/{document}",
                                             json={"title": f"Live {index}"})
                wanted = ("document", "renamed")
            elif kind == 1:
                response = await owner.post(f"/api/documents/{document}/sections",
                                            json={"title": f"Part {index}"})
                wanted = ("section", "added")
            else:
                response = await owner.patch(f"/api/documents/{document}/sections/{section}",
                                             json={"status": statuses[index % 4]})
                wanted = ("section", "updated")
            assert response.is_success, response.text
            arrived = await channel.wait(
                lambda e, w=wanted: (e["type"], e.get("change")) == w, start)
            metadata_ms.append((arrived - started) * 1000)

        ticket = (await owner.post(f"/api/documents/{document}/ticket")).json()["ticket"]
        doc: Doc[Any] = Doc()
        writer = await YClient.open(
            f"ws://127.0.0.1:{server.port}/ws/{document}?ticket={ticket}", doc)
        await writer.sync(time.monotonic() + TIMEOUT_S)
        updates: list[bytes] = []

        def capture(event: TransactionEvent) -> None:
            updates.append(event.update)

        doc.observe(capture)
        text = doc.get(f"section:{section}", type=Text)
        progress_ms: list[float] = []
        for index in range(args.edits):
            # Past the previous debounce window, so each edit opens one of its own.
            await asyncio.sleep(1.0)
            start = len(channel.events)
            text += f"word{index} "
            started = time.perf_counter()
            await writer.ws.send(create_update_message(updates.pop()))
            arrived = await channel.wait(lambda e: e["type"] == "progress", start)
            progress_ms.append((arrived - started) * 1000)
        await writer.close()

        print(f"Widen, SQLite; one member's event channel; {server.describe()}")
        print(_summary("metadata change -> event", metadata_ms))
        print(_summary("text edit -> progress event", progress_ms))
        met = _p99(metadata_ms) < 1000 and _p99(progress_ms) < 1000
        print(f"target p99 < 1000 ms: {'met' if met else 'MISSED'}")
    finally:
        if channel is not None:
            await channel.close()
        await http.aclose()
        await owner.aclose()
        await server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
