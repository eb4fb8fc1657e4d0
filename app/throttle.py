"""Slowing down password guessing without handing attackers a way to lock owners out.

Failed logins are counted three ways within one window:
- per (account, address): one guesser at one account, the tight limit;
- per address: one guesser trying many accounts;
- per account, with a much higher ceiling: a guesser spread over many addresses.
Counting per account alone (as before) let anyone lock an owner out with five wrong passwords;
now a guesser's address is stopped while the owner, elsewhere, still signs in. A distributed
guesser can still reach the per-account ceiling, which is set high enough to need many
addresses and slows guessing to that rate.

The three are `WindowLimit`s: in memory and per process (a restart forgets), or in Redis and
shared by every process (`app.limits`), where they fail closed: with Redis away, a login is
refused with `LimitUnavailable` rather than let through uncounted.
"""

from __future__ import annotations

from app.ratelimit import MakeLimit, WindowLimit
from app.settings import Settings


class LoginThrottle:
    def __init__(self, *, per_pair: WindowLimit, per_address: WindowLimit,
                 per_account: WindowLimit) -> None:
        self._pair = per_pair
        self._address = per_address
        self._account = per_account

    @classmethod
    def from_settings(cls, settings: Settings, make: MakeLimit) -> LoginThrottle:
        """Each limit counts failures within the window; 0 turns that one off."""
        window = settings.login_failure_window_seconds
        return cls(
            per_pair=make("login-pair", settings.login_max_failures, window),
            per_address=make("login-address", settings.login_max_failures_per_address, window),
            per_account=make("login-account", settings.login_max_failures_per_account, window),
        )

    async def retry_after(self, account: str, address: str) -> float | None:
        """Seconds until this address may try this account again, or None if now."""
        waits = [
            wait
            for wait in (
                await self._pair.retry_after(_pair(account, address)),
                await self._address.retry_after(address),
                await self._account.retry_after(account),
            )
            if wait is not None
        ]
        return max(waits) if waits else None

    async def failed(self, account: str, address: str) -> None:
        await self._pair.hit(_pair(account, address))
        await self._address.hit(address)
        await self._account.hit(account)

    async def succeeded(self, account: str, address: str) -> None:
        """The owner got it right: their own typos from here are forgiven. The address and
        account counts stay, so a guesser cannot reset them by signing in to an account of
        their own."""
        await self._pair.forget(_pair(account, address))


def _pair(account: str, address: str) -> str:
    return f"{account}\n{address}"
