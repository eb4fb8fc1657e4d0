"""Password guessing is stopped without locking the real owner out (issue 7, item 10).

Failures count per (account, address), per address and, with a much higher ceiling, per
account; the client address is the socket's, so the tests connect from two loopback
addresses. The throttle's memory is bounded whatever attackers send.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import httpx

from app.ratelimit import SlidingWindowLimit
from app.throttle import LoginThrottle
from tests.support.api import PASSWORD, Api
from tests.support.server import ServerProcess
from tests.trust.clients import ATTACKER, ELSEWHERE, client_from


async def _login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/login", json={"email": email, "password": password})


def _retry_after(response: httpx.Response) -> int:
    """The 429's wait, checked to be the same in the header and in the message."""
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= 300
    assert f"try again in {seconds} seconds" in response.json()["detail"]
    return seconds


async def test_the_owner_signs_in_from_elsewhere_while_a_guesser_is_stopped(
    live_server: ServerProcess, alice: Api
) -> None:
    email = alice.user["email"]
    async with client_from(live_server.base_url, ATTACKER) as attacker, \
            client_from(live_server.base_url, ELSEWHERE) as owner:
        statuses = [(await _login(attacker, email, f"guess {n}")).status_code for n in range(5)]
        assert statuses == [401] * 5

        response = await _login(owner, email, PASSWORD)
        assert response.status_code == 200, response.text
        assert response.json()["user"]["id"] == alice.user["id"]

        _retry_after(await _login(attacker, email, "guess 5"))
        # The guesser is stopped even when it hits on the password.
        _retry_after(await _login(attacker, email, PASSWORD))


async def test_one_address_guessing_many_accounts_is_stopped(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(login_max_failures_per_address="8")
    async with client_from(server.base_url, ATTACKER) as attacker, \
            client_from(server.base_url, ELSEWHERE) as bystander:
        statuses = [(await _login(attacker, f"victim{n}@example.org", "guess")).status_code
                    for n in range(8)]
        assert statuses == [401] * 8
        _retry_after(await _login(attacker, "victim9@example.org", "guess"))
        # Only that address is stopped.
        assert (await _login(bystander, "victim9@example.org", "guess")).status_code == 401


async def test_guessing_one_account_from_many_addresses_is_slowed(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(login_max_failures_per_account="6")
    api = await Api(server.base_url).sign_up("Owner")
    await api.aclose()
    email = api.user["email"]
    addresses = [f"127.0.0.{n}" for n in range(10, 13)]
    for address in addresses:
        async with client_from(server.base_url, address) as guesser:
            statuses = [(await _login(guesser, email, "guess")).status_code for _ in range(2)]
            assert statuses == [401, 401]
    async with client_from(server.base_url, "127.0.0.13") as guesser:
        _retry_after(await _login(guesser, email, "guess"))


async def test_the_throttle_forgets_before_memory_grows() -> None:
    """A flood of distinct accounts and addresses: memory stops growing at the key bound (in
    memory, the one-process setup; in Redis each key expires, tests/unit/test_redis_limits.py)."""
    limits = [SlidingWindowLimit(limit, 300, max_keys=5_000) for limit in (5, 20, 100)]
    throttle = LoginThrottle(per_pair=limits[0], per_address=limits[1], per_account=limits[2])

    async def flood(start: int, count: int) -> None:
        for n in range(start, start + count):
            await throttle.failed(f"user{n}@example.org",
                                  f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")

    tracemalloc.start()
    try:
        await flood(0, 20_000)  # fills the table to its bound
        before = tracemalloc.get_traced_memory()[0]
        await flood(20_000, 60_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1_000_000, f"{grown} bytes for 60,000 more keys"
    assert sum(len(limit) for limit in limits) <= 3 * 5_000
    # The most recent guesser is still remembered and still counted.
    for _ in range(4):
        await throttle.failed("last@example.org", "10.0.0.1")
    assert await throttle.retry_after("last@example.org", "10.0.0.1") is None
    await throttle.failed("last@example.org", "10.0.0.1")
    wait = await throttle.retry_after("last@example.org", "10.0.0.1")
    assert wait is not None and 299 < wait <= 300
