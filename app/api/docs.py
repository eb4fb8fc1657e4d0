"""`/docs`: Swagger UI for the OpenAPI schema, served under a policy of its own.

FastAPI's built-in page is the same HTML; it is served here so that its response can carry a
Content-Security-Policy that allows the Swagger CDN and the page's one inline script by hash,
while every other response keeps the strict policy of the web app.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.security_headers import docs_policy

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    openapi_url = request.app.openapi_url or "/openapi.json"
    page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{request.app.title} - API")
    page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
    return page
