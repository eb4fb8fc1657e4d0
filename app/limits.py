"""The limits a server enforces per user or per client address, built from the settings: in
memory, in the one process."""

from __future__ import annotations

from dataclasses import dataclass

from app.ratelimit import SlidingWindowLimit, WindowLimit
from app.settings import Settings
from app.throttle import LoginThrottle


@dataclass(frozen=True)
class Limits:
    login_throttle: LoginThrottle
    # Accounts created per client address.
    registrations: WindowLimit
    # Password-reset requests per client address, a brake like `registrations`.
    reset_requests: WindowLimit
    # Websocket refusals per user and document (`app.ws`).
    ws_refusals: WindowLimit


def start_limits(settings: Settings) -> Limits:
    return Limits(
        login_throttle=LoginThrottle.from_settings(settings, _in_memory),
        registrations=_in_memory("registrations", settings.registrations_per_hour, 3600),
        reset_requests=_in_memory("reset-requests", settings.registrations_per_hour, 3600),
        ws_refusals=_in_memory("ws-refusals", settings.ws_refusals_per_minute, 60),
    )


def _in_memory(name: str, limit: int, window_seconds: float) -> WindowLimit:
    return SlidingWindowLimit(limit, window_seconds)
