"""`python -m app`: migrate the database, then serve. What `make run` calls."""

from __future__ import annotations

import gc

import uvicorn

from app.logs import configure_logging
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from app.ws_protocol import WidenWebSocketProtocol


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    upgrade(settings.database_url)
    app = create_app(settings)
    # What exists now (modules, routes, settings) lives as long as the process: out of the
    # collector's sight, a full collection walks only what serving made. Under load those came
    # every few seconds and stopped the loop for 150 ms each (`bench/run.py`'s p99).
    gc.freeze()
    # And collect young objects less often: a keystroke's objects (its message, its pending
    # write, its relay) live for a few milliseconds, but at the default 700 allocations a
    # collection caught many of them alive and promoted them, so full collections still came
    # every 2-3 s under load and stopped the loop for 50-100 ms each. At 10,000 most die young;
    # the full collections, which only cyclic garbage needs, come every minute or two.
    gc.set_threshold(10_000, 50, 20)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # Up to twice the limit a frame is read whole and refused by the handler with a clean
        # 1009 close; beyond that the websocket layer drops it unread (1009, though a client
        # still sending may see its connection reset). Compression is off, so a small frame
        # cannot inflate past either bound.
        ws_max_size=settings.max_message_bytes * 2,
        ws_per_message_deflate=False,
        ws=WidenWebSocketProtocol,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
