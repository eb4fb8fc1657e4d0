"""Mail goes out off the request path: queued in the request's transaction, sent by a task.

A route calls `queue` inside its transaction, so the mail exists exactly when the step that
caused it committed; `MailSender` then delivers it in the background, retrying with a
doubling wait, and records every failure on the row (the share dialog shows it on the
invitation). What became of an invitation's mail (sent, retrying, failed) is told to the
document's owner on the live event channel once recorded, so an open share dialog follows it
without polling. A sender claims a row by moving its `next_attempt_at` forward in one
conditional UPDATE, so several server processes never send one mail twice at once, and a
process that dies mid-send leaves the row to be retried once the claim lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import models
from app.events import Audience, Change, stage, staged
from app.mailer import DeliveryError, compose
from app.settings import Settings
from app.timeutil import utcnow

log = logging.getLogger("widen.mail")

Deliver = Callable[[EmailMessage], Awaitable[None]]
# Tells committed changes to the pages that show them (`EventFanout.publish`).
Publish = Callable[[Sequence[Change]], Awaitable[None]]
# How often the sender looks for due mail when nothing woke it (retries, other processes).
_IDLE_SECONDS = 5.0
_BATCH = 20


def queue(session: AsyncSession, *, to_address: str, subject: str, body: str,
          invitation_id: str | None = None, html: str | None = None) -> models.OutgoingMail:
    """`html`: an HTML alternative of `body`, already escaped by its author."""
    mail = models.OutgoingMail(to_address=to_address, subject=subject, body=body,
                               html_body=html, invitation_id=invitation_id,
                               next_attempt_at=utcnow())
    session.add(mail)
    return mail


class MailSender:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession],
                 deliver: Deliver, publish: Publish) -> None:
        self._settings = settings
        self._sessions = sessions
        self._deliver = deliver
        self._publish = publish
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # A claim outlasts one delivery attempt; past it, another sender may take the row.
        self._claim = timedelta(seconds=settings.mail_timeout_seconds * 2 + 5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mail-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        """Something was queued and committed: look now rather than at the next tick."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.send_due()
            except Exception:
                # The database may be briefly unavailable; the rows wait, the task goes on.
                log.exception("mail sender pass failed", extra={"event": "mail.pass_failed"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _IDLE_SECONDS)

    async def send_due(self) -> None:
        """Try every mail that is due, one claimed row at a time."""
        while claimed := await self._claim_due():
            for mail in claimed:
                await self._attempt(mail)

    async def _claim_due(self) -> list[models.OutgoingMail]:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            due = (await session.execute(
                select(models.OutgoingMail.id, models.OutgoingMail.next_attempt_at)
                .where(models.OutgoingMail.sent_at.is_(None),
                       models.OutgoingMail.gave_up_at.is_(None),
                       models.OutgoingMail.next_attempt_at <= now)
                .order_by(models.OutgoingMail.next_attempt_at).limit(_BATCH))).all()
            claimed: list[models.OutgoingMail] = []
            for row in due:
                taken = await session.scalars(
                    update(models.OutgoingMail)
                    .where(models.OutgoingMail.id == row.id,
                           models.OutgoingMail.next_attempt_at == row.next_attempt_at)
                    .values(next_attempt_at=now + self._claim)
                    .returning(models.OutgoingMail)
                    .execution_options(synchronize_session=False))
                claimed.extend(taken.all())
            return claimed

    async def _attempt(self, mail: models.OutgoingMail) -> None:
        message = compose(self._settings, mail.to_address, mail.subject, mail.body,
                          mail.html_body)
        attempts = mail.attempts + 1
        values: dict[str, object]
        state: str
        try:
            await self._deliver(message)
        except DeliveryError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            gave_up = attempts >= self._settings.mail_max_attempts
            wait = self._settings.mail_retry_seconds * 2 ** (attempts - 1)
            log.warning("mail not delivered", extra={
                "event": "mail.failed", "mail_id": mail.id, "attempts": attempts,
                "gave_up": gave_up, "error": error})
            values = {"attempts": attempts, "last_error": error,
                      "next_attempt_at": utcnow() + timedelta(seconds=wait),
                      "gave_up_at": utcnow() if gave_up else None}
            state = "failed" if gave_up else "retrying"
        else:
            log.info("mail sent", extra={"event": "mail.sent", "mail_id": mail.id})
            values = {"attempts": attempts, "sent_at": utcnow(), "last_error": None}
            state = "sent"
        async with self._sessions() as session:
            async with session.begin():
                await session.execute(update(models.OutgoingMail)
                                      .where(models.OutgoingMail.id == mail.id).values(**values))
                if mail.invitation_id is not None:
                    await _stage_invitation_mail(session, mail.invitation_id, state)
            changes = staged(session)
        await self._publish(changes)


async def _stage_invitation_mail(session: AsyncSession, invitation_id: str, state: str) -> None:
    """The owner's share dialog shows what became of the invitation's mail: tell it."""
    document_id = await session.scalar(
        select(models.Invitation.document_id).where(models.Invitation.id == invitation_id))
    if document_id is not None:
        stage(session, Change(document_id, "invitation",
                              {"change": "mail", "invitation_id": invitation_id, "mail": state},
                              Audience.OWNER))
