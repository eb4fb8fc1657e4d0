"""Slowing down password guessing without handing attackers a way to lock owners out.

Failed logins are counted three ways within one window:
- per (account, address): one guesser at one account, the tight limit;
- per address: one guesser trying many accounts;
- per account, with a much higher ceiling: a guesser spread over many addresses.
Counting per account alone (as before) let anyone lock an owner out with five wrong passwords;
now a guesser's address is stopped while the owner, elsewhere, still signs in. A distributed
guesser can still reach the per-account ceiling, which is set high enough to need many
addresses and slows guessing to that rate.

Bounded in memory (`SlidingWindowLimit`) and per process; a restart forgets.
"""

from __future__ import annotations

from app.ratelimit import DEFAULT_MAX_KEYS, SlidingWindowLimit
from app.settings import Settings


class LoginThrottle:
    def __init__(
        self,
        *,
        per_pair: int,
        per_address: int,
        per_account: int,
        window_seconds: float,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        """Each limit counts failures within `window_seconds`; 0 turns that one off."""
        self._pair = SlidingWindowLimit(per_pair, window_seconds, max_keys=max_keys)
        self._address = SlidingWindowLimit(per_address, window_seconds, max_keys=max_keys)
        self._account = SlidingWindowLimit(per_account, window_seconds, max_keys=max_keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            per_pair=settings.login_max_failures,
            per_address=settings.login_max_failures_per_address,
            per_account=settings.login_max_failures_per_account,
            window_seconds=settings.login_failure_window_seconds,
        )

    def retry_after(self, account: str, address: str) -> float | None:
        """Seconds until this address may try this account again, or None if now."""
        waits = [
            wait
            for wait in (
                self._pair.retry_after(_pair(account, address)),
                self._address.retry_after(address),
                self._account.retry_after(account),
            )
            if wait is not None
        ]
        return max(waits) if waits else None

    def failed(self, account: str, address: str) -> None:
        self._pair.hit(_pair(account, address))
        self._address.hit(address)
        self._account.hit(account)

    def succeeded(self, account: str, address: str) -> None:
        """The owner got it right: their own typos from here are forgiven. The address and
        account counts stay, so a guesser cannot reset them by signing in to an account of
        their own."""
        self._pair.forget(_pair(account, address))

    @property
    def tracked_keys(self) -> int:
        return len(self._pair) + len(self._address) + len(self._account)


def _pair(account: str, address: str) -> str:
    return f"{account}\n{address}"
