"""An account's life: registering, signing in, proving the address, resetting the password
(DESIGN §4, §8). Rate limits and cookies are the routes' (they need the request); what an
account may do is decided here, refusing with `app.domain_errors` kinds.

An unverified account works as any other on its own documents; verifying only lets what was
sent to the address (invitations) reach it without a link. A reset ends every login.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import mail_texts, models, outbox
from app.domain_errors import BadLink, Conflict, Unauthenticated
from app.links import (
    RESET_PASSWORD,
    VERIFY_EMAIL,
    account_link,
    issue_account_token,
    redeem_account_token,
)
from app.logins import revoke_all
from app.passwords import PasswordHashing
from app.security import new_token, token_digest
from app.settings import Settings
from app.timeutil import utcnow


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def register(session: AsyncSession, passwords: PasswordHashing, *, email: str,
                   name: str, password: str) -> models.User:
    user = models.User(email=normalise_email(email), name=name,
                       password_hash=await passwords.hash(password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("email-taken", "An account with this email exists") from exc
    return user


async def _credentials(sessions: async_sessionmaker[AsyncSession],
                       email: str) -> tuple[str | None, str | None]:
    """The account's id and password hash, read in a transaction of its own: verifying waits
    for a hashing thread, and holding a pooled connection meanwhile would let a burst of logins
    take every connection from everyone else."""
    async with sessions() as session:
        row = (await session.execute(
            select(models.User.id, models.User.password_hash).where(models.User.email == email)
        )).first()
    return (row.id, row.password_hash) if row else (None, None)


async def authenticate(session: AsyncSession, sessions: async_sessionmaker[AsyncSession],
                       passwords: PasswordHashing, email: str, password: str) -> models.User:
    """The account these credentials prove, its hash upgraded if the parameters changed. An
    unknown address costs a verification too, so timing does not tell who has an account."""
    user_id, password_hash = await _credentials(sessions, email)
    verified = await passwords.verify(password_hash, password)
    user = await session.get(models.User, user_id) if verified and user_id else None
    if user is None:
        raise Unauthenticated("Wrong email or password")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(password)
    return user


def open_login(session: AsyncSession, user: models.User,
               ttl: timedelta) -> tuple[str, datetime]:
    """A new login's token (only its hash is stored) and when it ends."""
    token = new_token()
    expires_at = utcnow() + ttl
    session.add(models.Session(token_hash=token_digest(token), user_id=user.id,
                               expires_at=expires_at))
    return token, expires_at


def require_mail(settings: Settings) -> None:
    if not settings.sends_mail:
        raise Conflict("no-mail", "This server sends no mail (no SMTP server is configured)")


def _mail_link(session: AsyncSession, settings: Settings, user: models.User,
               purpose: str) -> None:
    """Queue the mail with a fresh link for `purpose`, sent once the transaction commits."""
    token = issue_account_token(session, user, purpose)
    link = account_link(settings.link_base, purpose, token)
    write = mail_texts.verification if purpose == VERIFY_EMAIL else mail_texts.password_reset
    subject, body = write(name=user.name, link=link)
    outbox.queue(session, to_address=user.email, subject=subject, body=body)


def send_verification(session: AsyncSession, settings: Settings, user: models.User) -> None:
    require_mail(settings)
    if user.email_verified_at is not None:
        raise Conflict("already-verified", "Your address is verified already")
    _mail_link(session, settings, user, VERIFY_EMAIL)


async def verify(session: AsyncSession, token: str) -> models.User:
    """The link alone proves the address, signed in or not; only the address it was mailed
    to, so a link outlives no change of address."""
    redeemed = await redeem_account_token(session, token, VERIFY_EMAIL)
    user = await session.get(models.User, redeemed.user_id)
    if user is None or user.email != redeemed.email:
        raise BadLink("This link was for another address; ask for a new one")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


async def request_reset(session: AsyncSession, settings: Settings, email: str) -> bool:
    """Queue a reset link if the address has an account; whether it did is for the caller
    to wake the mail sender, never to tell the client. True if a mail was queued. The caller
    checks `require_mail` first, before counting the request against its client."""
    user = await session.scalar(
        select(models.User).where(models.User.email == normalise_email(email)))
    if user is None:
        return False
    _mail_link(session, settings, user, RESET_PASSWORD)
    return True


async def reset_password(session: AsyncSession, passwords: PasswordHashing, token: str,
                         password: str) -> str:
    """A new password, and every login and unused ticket of the account ends: whoever held
    the old password is out. The link also proves the address. Returns the account's id, for
    the caller to close its open sockets once this commits."""
    redeemed = await redeem_account_token(session, token, RESET_PASSWORD)
    user = await session.get(models.User, redeemed.user_id)
    if user is None:
        raise BadLink("This link's account is gone")
    user.password_hash = await passwords.hash(password)
    if user.email == redeemed.email and user.email_verified_at is None:
        user.email_verified_at = utcnow()
    await revoke_all(session, user.id)
    return user.id
