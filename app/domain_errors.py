"""What the domain modules refuse, in their own words: no status codes, no HTTP.

Sharing, accounts and links decide what may happen; `app.errors` alone decides how a refusal
is answered, so that one kind of refusal is answered alike wherever it is raised. Each kind
carries `detail`, written for people; those a client acts on also carry `code`, one stable
word it switches on (the frontend does, so a code is never renamed).
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class NotFound(DomainError):
    """Nothing of that id that the caller may see. Its answer never carries the code: a
    missing thing and a hidden one must be indistinguishable."""

    def __init__(self, detail: str) -> None:
        super().__init__("not-found", detail)


class Forbidden(DomainError):
    """The caller sees the thing, but their role does not allow this."""


class Conflict(DomainError):
    """The state of things does not allow this now (already settled, already a member, a
    concurrent change won)."""


class Invalid(DomainError):
    """The request is well-formed but names something unusable; `field` is the part of the
    request it is about, `source` where that part travels (body or query)."""

    def __init__(self, field: str, code: str, detail: str, *, source: str = "body") -> None:
        super().__init__(code, detail)
        self.field = field
        self.source = source


class BadLink(DomainError):
    """A link's secret that cannot be used (unknown, used, expired, for another address): all
    look alike to whoever holds one, which tells a guesser nothing."""

    def __init__(self, detail: str) -> None:
        super().__init__("bad-link", detail)


class Unauthenticated(DomainError):
    """Credentials that prove nobody."""

    def __init__(self, detail: str) -> None:
        super().__init__("unauthenticated", detail)
