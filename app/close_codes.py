"""The app's own websocket close codes: 44xx mirror the HTTP statuses of the API (DESIGN §5).

They are the app's vocabulary (who may connect, what a role may write), so they live here; the
protocol's 1xxx codes live with the protocol (`crdt.protocol.CloseCode`).
"""

from __future__ import annotations

from enum import IntEnum


class AccessCloseCode(IntEnum):
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    # The user's access changed: reconnect (and re-read your role) to continue with the new one.
    ACCESS_CHANGED = 4409
    # Too many connections or messages: reconnect after a backoff.
    TOO_MANY_REQUESTS = 4429
