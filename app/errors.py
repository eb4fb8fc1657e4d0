"""How errors leave the app: what a client is told, and what the log keeps.

A refused request body is never echoed: FastAPI's default 422 returns each offending value
(`input`, and `ctx` often repeats it), so a 10 MB title came back whole, and a password too.
Here a 422 lists where (`loc`), what (`msg`) and which rule (`type`), nothing the client sent.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError

# pydantic's messages name the rule, not the value; a few (e-mail syntax) quote characters of
# it, so a message is also cut short.
_MAX_MESSAGE = 200


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)


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
