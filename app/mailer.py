"""Handing one mail to the configured SMTP server (aiosmtplib). Retrying is `app.outbox`'s."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from app.settings import Settings

# What a failed delivery raises: the server's refusals and timeouts, and the network's errors.
DeliveryError = (aiosmtplib.SMTPException, OSError)


def compose(settings: Settings, to_address: str, subject: str, body: str,
            html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to_address
    message["Subject"] = subject
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def deliver(settings: Settings, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_starttls,
        timeout=settings.mail_timeout_seconds,
    )
