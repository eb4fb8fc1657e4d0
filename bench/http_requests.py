"""What an HTTP request costs Widen's server: CPU (user + system) and wall time per request.

Usage: .venv/bin/python bench/http_requests.py [--requests 1000] [--rounds 3]

Starts Widen (`python -m app` on SQLite, as `run.py` does), signs the bench user in, makes one
document, then sends `--requests` requests one after another to each of a few routes, as that
user, and reads the server process's CPU time before and after each route. Prints, per route
and round, the server's CPU milliseconds per request and the client's wall milliseconds. The
API routes are what every page load and every share dialog make; the middleware stack every
request crosses is most of what a small one costs. A benchmark, not a test: it exits non-zero
only if a request fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from adapters import WidenAdapter


def _routes(document_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/api/health"),
        ("GET", "/api/me"),
        ("GET", "/api/documents"),
        ("GET", f"/api/documents/{document_id}"),
        ("POST", f"/api/documents/{document_id}/ticket"),
    ]


async def _measure(http: httpx.AsyncClient, server: psutil.Process, method: str, path: str,
                   count: int) -> tuple[float, float]:
    """(server CPU ms, wall ms) per request."""
    before, started = server.cpu_times(), time.monotonic()
    for _ in range(count):
        response = await http.request(method, path)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
    after, ended = server.cpu_times(), time.monotonic()
    cpu = (after.user - before.user) + (after.system - before.system)
    return 1000 * cpu / count, 1000 * (ended - started) / count


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="widen-requests-") as workdir:
        adapter = WidenAdapter(Path(workdir))
        await adapter.start()
        try:
            server = psutil.Process(adapter.pids[0])
            document_id = (await adapter.create_rooms(1))[0]
            headers = {"Authorization": f"Bearer {adapter.bearer_token}"}
            async with httpx.AsyncClient(base_url=adapter.base_url, headers=headers) as http:
                print(f"{'route':<40} {'server CPU ms/request':>24} {'wall ms/request':>16}")
                for method, path in _routes(document_id):
                    name = f"{method} {path.replace(document_id, '{id}')}"
                    for _ in range(args.rounds):
                        cpu, wall = await _measure(http, server, method, path, args.requests)
                        print(f"{name:<40} {cpu:>24.2f} {wall:>16.2f}", flush=True)
        finally:
            await adapter.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
