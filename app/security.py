"""Bearer secrets: SHA-256 for what we generate (passwords get argon2, `app.passwords`).

Session tokens, tickets and link secrets are 256-bit random values, so a fast hash is enough to
make a stolen table useless.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
