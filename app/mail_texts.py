"""What each mail says: plain text, one function per kind, nothing sent from here."""

from __future__ import annotations

from datetime import datetime

# Why someone was invited, in the words the share dialog uses (frontend labels.ts).
_REASONS = {
    "help": "they can't finish it alone or in time",
    "expertise": "it needs a specialist for a part",
    "review": "it needs proof-reading",
    "progress": "they would like you to follow its progress",
    "other": "of the reason in their message",
}
_ROLES = {
    "editor": "an editor (you can write)",
    "reviewer": "a reviewer (you can comment and suggest changes)",
    "viewer": "a viewer (you can read)",
    "progress": "following its progress (status and due dates, not the text)",
}


def invitation(*, inviter: str, document_title: str, role: str, reason: str,
               message: str | None, link: str, link_expires_at: datetime) -> tuple[str, str]:
    subject = f"{inviter} invites you to “{document_title}” on Widen"
    lines = [
        f"{inviter} invites you to the document “{document_title}” as "
        f"{_ROLES.get(role, role)}, because {_REASONS.get(reason, reason)}.",
        "",
    ]
    if message:
        lines += [f"{inviter} writes:", "", *(f"> {line}" for line in message.splitlines()), ""]
    lines += [
        "Open this link to sign in or create an account and go to the document:",
        link,
        "",
        f"The link works once, until {link_expires_at:%Y-%m-%d %H:%M} UTC. If you did not "
        "expect this mail, ignore it: nobody gets in without the link.",
    ]
    return subject, "\n".join(lines)


def verification(*, name: str, link: str) -> tuple[str, str]:
    return "Confirm your address for Widen", "\n".join([
        f"Hello {name},",
        "",
        "Open this link to confirm that this address is yours. Invitations sent to it then "
        "reach you without their own link:",
        link,
        "",
        "If you did not create a Widen account, ignore this mail.",
    ])


def password_reset(*, name: str, link: str) -> tuple[str, str]:
    return "Reset your Widen password", "\n".join([
        f"Hello {name},",
        "",
        "Open this link within an hour to choose a new password. Choosing one signs you out "
        "everywhere:",
        link,
        "",
        "If you did not ask for this, ignore this mail: your password stays as it is.",
    ])
