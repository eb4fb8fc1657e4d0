"""Secrets that travel in links: an invitation's, and an account's (verify, reset).

A link carries a 256-bit random secret; only its SHA-256 is stored (`app.security`), so the
tables cannot be replayed from a leaked copy. Each secret is single use and expires.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.domain_errors import BadLink
from app.security import new_token, token_digest
from app.timeutil import utcnow

# DESIGN §8: an invitation link lives as long as its invitation, 14 days when it has no expiry.
INVITATION_LINK_LIFETIME = timedelta(days=14)
VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
ACCOUNT_TOKEN_LIFETIME = {VERIFY_EMAIL: timedelta(days=2), RESET_PASSWORD: timedelta(hours=1)}


def invitation_link(base: str, invitation_id: str, token: str) -> str:
    return f"{base}/#/invite/{invitation_id}/{token}"


def issue_invitation_link(base: str, invitation: models.Invitation) -> str:
    """Give the invitation a new link, replacing any earlier one (which stops working)."""
    token = new_token()
    invitation.link_hash = token_digest(token)
    invitation.link_expires_at = invitation.expires_at or utcnow() + INVITATION_LINK_LIFETIME
    return invitation_link(base, invitation.id, token)


def link_matches(invitation: models.Invitation, token: str) -> bool:
    return invitation.link_hash is not None and invitation.link_hash == token_digest(token)


def account_link(base: str, purpose: str, token: str) -> str:
    page = "verify" if purpose == VERIFY_EMAIL else "reset"
    return f"{base}/#/{page}/{token}"


def issue_account_token(session: AsyncSession, user: models.User, purpose: str) -> str:
    token = new_token()
    session.add(models.AccountToken(
        token_hash=token_digest(token), user_id=user.id, purpose=purpose, email=user.email,
        expires_at=utcnow() + ACCOUNT_TOKEN_LIFETIME[purpose]))
    return token


async def redeem_account_token(session: AsyncSession, token: str,
                               purpose: str) -> models.AccountToken:
    """Use a secret up, exactly once: one conditional UPDATE, so of two concurrent requests
    with the same link only one gets through. Unknown, used and expired secrets all answer
    the same, which tells a guesser nothing."""
    now = utcnow()
    used = await session.scalars(
        update(models.AccountToken)
        .where(models.AccountToken.token_hash == token_digest(token),
               models.AccountToken.purpose == purpose,
               models.AccountToken.used_at.is_(None),
               models.AccountToken.expires_at > now)
        .values(used_at=now)
        .returning(models.AccountToken)
        .execution_options(synchronize_session="fetch"))
    redeemed = used.one_or_none()
    if redeemed is None:
        raise BadLink("This link is not valid: it was used already, has expired, or was "
                      "never issued. Ask for a new one.")
    return redeemed
