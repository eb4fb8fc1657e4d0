"""pycrdt-websocket as shipped, served by uvicorn: the Python reference for the benchmarks.

Room name = URL path, rooms in memory, no store: the same job the y-websocket reference
server does, so the comparison is about relaying, not persistence. Library defaults are kept
(including its exception handling) because the point is to measure it as people run it.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer


async def serve(host: str, port: int) -> None:
    """Run until uvicorn gets SIGINT/SIGTERM."""
    websocket_server = WebsocketServer()
    app = ASGIServer(websocket_server)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    async with websocket_server:
        await uvicorn.Server(config).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
