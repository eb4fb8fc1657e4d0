"""How errors leave the app: what a client is told, and what the log keeps.

A refused request body is never echoed: FastAPI's default 422 returns each offending value
(`input`, and `ctx` often repeats it), so a 10 MB title came back whole, and a password too.
Here a 422 lists where (`loc`), what (`msg`) and which rule (`type`), nothing the client sent.

A change the database refuses because a concurrent one won (a unique index, a row another
request deleted or changed first) is a 409, not a 500: retrying after a reload can succeed.
Routes that expect a particular conflict say so more precisely; this is the backstop.

A refusal a client may act on (a 403, 409 or 429): besides `detail`, written for people and
free to change, its body has a `code`, one stable word a client switches on, as it does on the
first word of a websocket close reason (DESIGN §5). A 404 stays `{"detail": ...}` alone, the
same for a missing document as for one the caller may not see.

The domain modules raise `app.domain_errors` kinds, which know nothing of HTTP; one handler
here answers each kind the same wherever it comes from (`Forbidden` and `Conflict` with their
code). A 422 the app itself raises (`Invalid`) has the shape FastAPI documents for every 422,
so a client reads all of them alike. What only a route knows to refuse (a rate limit's 429,
with its `Retry-After`) is a `Refusal`, answered with the same `{"detail", "code"}` body.

A rate limit that cannot count (its Redis is away) and must not let a request through
(`LimitUnavailable`, `app.limits`) is a 503 `unavailable` with a `Retry-After`: nothing is wrong
with the request, and it will work again once Redis answers.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain_errors import (
    BadLink,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
)
from app.ratelimit import LimitUnavailable
from app.workers import WorkFailed

log = logging.getLogger("widen.errors")


class Refusal(HTTPException):
    """An HTTP refusal with a machine-readable `code` (a stable word, e.g. `already-member`)
    beside the human `detail`; the body is `{"detail": ..., "code": ...}`."""

    def __init__(self, status_code: int, code: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail, headers=headers)
        self.code = code


CONFLICT = "This conflicts with a change made at the same time; reload and try again"
# How long a client refused for want of its rate limits waits before trying again.
LIMITS_RETRY_SECONDS = 5

# pydantic's messages name the rule, not the value; a few (e-mail syntax) quote characters of
# it, so a message is also cut short.
_MAX_MESSAGE = 200


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(StaleDataError, _conflict)
    app.add_exception_handler(WorkFailed, _unavailable)
    app.add_exception_handler(LimitUnavailable, _limits_unavailable)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, Refusal):
        return JSONResponse({"detail": exc.detail, "code": exc.code},
                            status_code=exc.status_code, headers=exc.headers)
    return await http_exception_handler(request, exc)


# The kinds whose answer names the refusal by its code, and those answered by `detail` alone.
_REFUSALS: dict[type[DomainError], int] = {
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
}
_BARE: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    BadLink: status.HTTP_400_BAD_REQUEST,
    Unauthenticated: status.HTTP_401_UNAUTHORIZED,
}


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if isinstance(exc, Invalid):
        return _unprocessable([{"loc": [exc.source, exc.field], "msg": _short(exc.detail),
                                "type": exc.code}])
    for kind, code in _REFUSALS.items():
        if isinstance(exc, kind):
            return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=code)
    for kind, code in _BARE.items():
        if isinstance(exc, kind):
            return JSONResponse({"detail": exc.detail}, status_code=code)
    raise TypeError(f"no answer for {type(exc).__name__}")


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(error["loc"]), "msg": _short(str(error["msg"])), "type": error["type"]}
        for error in exc.errors()
    ]
    return _unprocessable(detail)


def _unprocessable(detail: list[dict[str, object]]) -> Response:
    # `json.dumps` escapes non-ASCII, so even a lone surrogate in a message cannot make the
    # error response itself fail to encode.
    return Response(json.dumps({"detail": detail}), media_type="application/json",
                    status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


async def _unavailable(request: Request, exc: Exception) -> Response:
    """Work in the text worker pool crashed or timed out (`app.workers` logged it): this
    request fails, the server goes on."""
    return JSONResponse({"detail": "This document cannot be read right now",
                         "code": "unavailable"},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


async def _limits_unavailable(request: Request, exc: Exception) -> Response:
    """The guard in `app.redis_guard` has logged the outage (once, not per request)."""
    return JSONResponse(
        {"detail": "The server cannot check its rate limits right now; try again in "
                   f"{LIMITS_RETRY_SECONDS} seconds",
         "code": "unavailable"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(LIMITS_RETRY_SECONDS)})


async def _conflict(request: Request, exc: Exception) -> Response:
    # The exception's text would quote the conflicting values (an address, say): only its kind.
    log.warning("a concurrent change won", extra={
        "event": "http.conflict", "method": request.method, "path": request.url.path,
        "error": type(exc).__name__,
        "cause": type(getattr(exc, "orig", None)).__name__})
    return JSONResponse({"detail": CONFLICT, "code": "conflict"},
                        status_code=status.HTTP_409_CONFLICT)
