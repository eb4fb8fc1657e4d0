"""What rate limits need from a request, and the one way they refuse it."""

from __future__ import annotations

import math

from fastapi import Request, status

from app.errors import Refusal


def client_address(request: Request) -> str:
    """The address of the socket's peer. uvicorn replaces it with `X-Forwarded-For` only for
    connections from the proxies it trusts (`FORWARDED_ALLOW_IPS`, default the loopback)."""
    return request.client.host if request.client else "unknown"


def too_many_requests(what: str, wait_seconds: float) -> Refusal:
    """A 429 that says, in the message and in `Retry-After`, when trying again will work."""
    seconds = max(1, math.ceil(wait_seconds))
    return Refusal(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "rate-limited",
        f"{what}; try again in {seconds} seconds",
        headers={"Retry-After": str(seconds)},
    )
