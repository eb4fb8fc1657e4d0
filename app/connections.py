"""Who holds which open websocket: for the per-user connection cap, and so that signing out
ends that login's sockets at once.

This process's sockets only; with several processes the cap counts over all of them
(`app.connection_count`), which learns of each change here through `watch`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from app.close_codes import AccessCloseCode
from crdt.peer import Peer


class Connections:
    def __init__(self) -> None:
        self._by_user: defaultdict[str, set[Peer]] = defaultdict(set)
        self._by_login: defaultdict[str, set[Peer]] = defaultdict(set)
        self._watcher: Callable[[str], None] | None = None

    def watch(self, changed: Callable[[str], None]) -> None:
        """Call `changed(user_id)` whenever a user's count changes."""
        self._watcher = changed

    def count(self, user_id: str) -> int:
        return len(self._by_user.get(user_id, ()))

    def users(self) -> list[str]:
        """The users holding at least one socket here."""
        return list(self._by_user)

    def add(self, user_id: str, login_id: str | None, peer: Peer) -> None:
        self._by_user[user_id].add(peer)
        if login_id is not None:
            self._by_login[login_id].add(peer)
        if self._watcher is not None:
            self._watcher(user_id)

    def remove(self, user_id: str, login_id: str | None, peer: Peer) -> None:
        _discard(self._by_user, user_id, peer)
        if login_id is not None:
            _discard(self._by_login, login_id, peer)
        if self._watcher is not None:
            self._watcher(user_id)

    def sign_out(self, login_id: str) -> None:
        """Close every socket the login opened (by cookie or by one of its tickets)."""
        for peer in list(self._by_login.get(login_id, ())):
            peer.close(AccessCloseCode.UNAUTHORIZED, "signed-out: you signed out")

    def close_all(self, code: int, reason: str) -> None:
        for peers in list(self._by_user.values()):
            for peer in list(peers):
                peer.close(code, reason)
    def sign_out_everywhere(self, user_id: str) -> None:
        """Close every socket of the user, whichever login opened it (a password reset)."""
        for peer in list(self._by_user.get(user_id, ())):
            peer.close(AccessCloseCode.UNAUTHORIZED, "signed-out: your password was reset")


def _discard(table: defaultdict[str, set[Peer]], key: str, peer: Peer) -> None:
    peers = table.get(key)
    if peers is not None:
        peers.discard(peer)
        if not peers:
            del table[key]
