"""`python -m app`: migrate the database, then serve. What `make run` calls."""

from __future__ import annotations

import uvicorn

from app.logs import configure_logging
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # Oversized frames are refused by the websocket layer itself with 1009; compression is
        # off so a small frame cannot inflate past that limit.
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
