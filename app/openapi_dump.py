"""Print the server's OpenAPI schema as JSON: `python -m app.openapi_dump`.

The frontend's API types (`frontend/src/api-types.ts`) are generated from this output by
`make api-types`, and `make test-frontend` fails when the checked-in types no longer match it,
so a route or model changed on the server cannot silently drift from what the browser expects.
Building the app opens nothing (the database and workers start in its lifespan), so this runs
without a database.
"""

from __future__ import annotations

import json
import sys

from app.main import create_app
from app.settings import Settings


def openapi_json() -> str:
    """The schema with a stable layout, so that regenerating from an unchanged server is a no-op."""
    schema = create_app(Settings()).openapi()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_json())
