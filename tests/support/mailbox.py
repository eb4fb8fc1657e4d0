"""A real SMTP server (aiosmtpd) on a free port that keeps every mail it receives, so tests
read what Widen sent as a recipient would: addressed, with a subject, a body and a link."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.api import Api
from tests.support.server import free_port

_LINK = re.compile(r"https?://\S+")


class _Keep:
    """aiosmtpd's handler: each DATA command's message goes into the mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._mailbox.keep(message)
        return "250 Message accepted for delivery"


class Mailbox:
    def __init__(self) -> None:
        self.port = free_port()
        self._controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def keep(self, message: EmailMessage) -> None:
        with self._lock:
            self._messages.append(message)

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self._messages if m["To"] == address]

    async def wait_for(self, address: str, count: int = 1,
                       timeout: float = 15.0) -> EmailMessage:
        """The `count`th mail to `address`, once it has arrived."""
        deadline = time.monotonic() + timeout
        while len(received := self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail #{count} to {address} in {timeout} s"
            await asyncio.sleep(0.05)
        return received[count - 1]

    def settings(self) -> dict[str, str]:
        """The server settings that send mail here (plain SMTP on loopback, no STARTTLS)."""
        return {"smtp_host": "127.0.0.1", "smtp_port": str(self.port),
                "smtp_starttls": "false", "mail_from": "Widen <widen@example.org>"}


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage) -> str:
    found = _LINK.search(body_of(message))
    assert found is not None, body_of(message)
    return found.group(0)


def token_of(link: str) -> str:
    """The secret at the end of a link (`#/verify/<token>`, `#/invite/<id>/<token>`)."""
    return link.rsplit("/", 1)[1]


async def verify_address(api: Api, mailbox: Mailbox) -> None:
    """Prove the user's address as a person would: ask for the mail, follow its link."""
    address = str(api.user["email"])
    before = len(mailbox.to(address))
    response = await api.http.post("/api/auth/verification")
    assert response.status_code == 202, response.text
    link = link_in(await mailbox.wait_for(address, before + 1))
    assert "/#/verify/" in link, link
    response = await api.http.post("/api/auth/verify", json={"token": token_of(link)})
    assert response.status_code == 200 and response.json()["email_verified"], response.text


class VerifiedApi(Api):
    """An API client whose user proves their address right after signing up, for tests of
    what reaches a verified address (the inbox by address)."""

    def __init__(self, base_url: str, mailbox: Mailbox) -> None:
        super().__init__(base_url)
        self.mailbox = mailbox

    async def sign_up(self, name: str | None = None, email: str | None = None) -> Api:
        await super().sign_up(name, email)
        await verify_address(self, self.mailbox)
        return self
