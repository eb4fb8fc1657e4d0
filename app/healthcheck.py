"""`python -m app.healthcheck`: exit 0 when this machine's server answers `/api/health` with
200, 1 otherwise. The image's HEALTHCHECK runs it: the slim runtime has no curl, and the port
comes from the same settings the server reads (`WIDEN_PORT`)."""

from __future__ import annotations

import sys
import urllib.request

from app.settings import Settings


def healthy(port: int, timeout: float = 5.0) -> bool:
    """The server on the loopback (whatever `WIDEN_HOST` it listens on) says it is healthy.
    "degraded" (writes failing) still answers 200: the process serves, and restarting it
    would drop the edits it holds in memory."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health",
                                    timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError as exc:  # refused, timed out, or an HTTP error status (urllib's)
        print(f"unhealthy: {exc}", file=sys.stderr)
        return False


if __name__ == "__main__":
    sys.exit(0 if healthy(Settings().port) else 1)
