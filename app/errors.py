"""How errors leave the app: what a client is told, and what the log keeps.

A refused request body is never echoed: FastAPI's default 422 returns each offending value
(`input`, and `ctx` often repeats it), so a 10 MB title came back whole, and a password too.
Here a 422 lists where (`loc`), what (`msg`) and which rule (`type`), nothing the client sent.

A change the database refuses because a concurrent one won (a unique index, a row another
request deleted or changed first) is a 409, not a 500: retrying after a reload can succeed.
Routes that expect a particular conflict say so more precisely; this is the backstop.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

log = logging.getLogger("widen.errors")

CONFLICT = "This conflicts with a change made at the same time; reload and try again"

# pydantic's messages name the rule, not the value; a few (e-mail syntax) quote characters of
# it, so a message is also cut short.
_MAX_MESSAGE = 200


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(StaleDataError, _conflict)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(error["loc"]), "msg": _short(str(error["msg"])), "type": error["type"]}
        for error in exc.errors()
    ]
    # `json.dumps` escapes non-ASCII, so even a lone surrogate in a message cannot make the
    # error response itself fail to encode.
    return Response(json.dumps({"detail": detail}), media_type="application/json",
                    status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


async def _conflict(request: Request, exc: Exception) -> Response:
    # The exception's text would quote the conflicting values (an address, say): only its kind.
    log.warning("a concurrent change won", extra={
        "event": "http.conflict", "method": request.method, "path": request.url.path,
        "error": type(exc).__name__,
        "cause": type(getattr(exc, "orig", None)).__name__})
    return JSONResponse({"detail": CONFLICT}, status_code=status.HTTP_409_CONFLICT)
