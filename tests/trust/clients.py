"""HTTP clients that connect from a chosen loopback address.

The server reads a client's address from the socket (it trusts no forwarding header), so a
test that needs two "places" binds its client sockets to different addresses of 127.0.0.0/8,
all of which reach a server listening on 127.0.0.1.
"""

from __future__ import annotations

import httpx

ATTACKER = "127.0.0.1"
ELSEWHERE = "127.0.0.2"


def client_from(base_url: str, address: str, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=30,
        headers=headers,
        transport=httpx.AsyncHTTPTransport(local_address=address),
    )
