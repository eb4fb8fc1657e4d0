"""Every update is tried on a private replica before it touches the live document.

The room keeps a *probe*: a replica of the live doc that sees each update first. An update is
refused, with the live doc untouched, when the engine cannot apply it (yrs may have applied
part of it by the time it fails, which is why it is the probe that takes that risk), when it
leaves anything unresolved (an insert whose dependencies the server lacks, a deletion of
content it has not seen: those would integrate later, inside somebody else's transaction, and
a malformed one would make that transaction fail), when it nests shared types deeper than the
depth bound (turning such a document into text crashes the engine), when it touches a retired
root (a deleted section), or when it touches a root outside the writer's scope.

The probe observes every root deeply, and lists the roots before and after, to tell which
roots an update touched and how deep what it inserted sits. After any refusal it is dropped and
rebuilt from the live doc.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Subscription, XmlFragment

from crdt.depth import ShapeRefused, SharedType, check_depth, inserted_types, root_children
from crdt.protocol import CloseCode, ProtocolError
from crdt.updates import fully_integrated, inserts_integrated

# Updates accepted without the probe that it may lag behind by; past that it is rebuilt (about
# the cost of applying that many keystrokes, for a large document).
MAX_BEHIND = 10_000
# What pycrdt raises on bytes it cannot decode or integrate.
DECODE_ERRORS = (ValueError, IndexError, RuntimeError, AssertionError)


def is_rust_panic(exc: BaseException) -> bool:
    """pyo3 turns a Rust panic into `PanicException`, a BaseException that is not importable."""
    return type(exc).__name__ == "PanicException"


@dataclass(frozen=True, slots=True)
class WriteScope:
    """What one connection may change: every root (`roots is None`) or just those listed."""

    roots: frozenset[str] | None

    @classmethod
    def everything(cls) -> WriteScope:
        return cls(None)

    @classmethod
    def nothing(cls) -> WriteScope:
        return cls(frozenset())

    @classmethod
    def only(cls, roots: set[str] | frozenset[str]) -> WriteScope:
        return cls(frozenset(roots))

    @property
    def unrestricted(self) -> bool:
        return self.roots is None

    @property
    def read_only(self) -> bool:
        return self.roots is not None and not self.roots

    def allows(self, root: str) -> bool:
        return self.roots is None or root in self.roots


class WriteRejected(Exception):
    """An update the sender may not make; `roots` names what it would have touched. The app
    chooses the close code (`crdt.connection.Rules.refused_write_code`)."""

    def __init__(self, reason: str, roots: frozenset[str] = frozenset()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.roots = roots


class Guard:
    def __init__(self, *, max_depth: int) -> None:
        if max_depth < 1:
            raise ValueError("the depth bound cannot be turned off")
        self.max_depth = max_depth
        self._probe: Doc[Any] | None = None
        self._observed: dict[str, Subscription] = {}
        self._touched: set[str] = set()
        self._refused_shape: ShapeRefused | None = None
        # Updates accepted without the probe (`passed`), for it to apply before its next check.
        self._behind: list[bytes] = []

    def check(self, update: bytes, scope: WriteScope, live: Doc[Any],
              retired: frozenset[str] = frozenset(),
              not_live: Callable[[], list[bytes]] = list) -> bool:
        """Raise unless `update` may be applied to `live`; on success the probe holds it.

        Returns False when the update changes nothing the server has (a reconnecting
        client's sync step 2 resends what the server already holds): that is no write, so a
        read-only connection may send it, and it need not be applied, stored or relayed.
        `not_live` lists what was accepted before and is not in `live` yet (`crdt.relay`).
        """
        probe = self._current_probe(live, not_live)
        state_before = probe.get_state()
        before = set(probe.keys())
        self._observe(before)
        self._touched.clear()
        self._refused_shape = None
        try:
            probe.apply_update(update)
        except DECODE_ERRORS as exc:
            self.reset()
            raise ProtocolError("undecodable: invalid update", CloseCode.UNSUPPORTED_DATA) from exc
        except BaseException as exc:
            # Whatever went wrong, the probe may hold part of an update the live document
            # never will: it is rebuilt before the next check.
            self.reset()
            if not is_rust_panic(exc):
                raise
            raise ProtocolError("undecodable: update rejected by the CRDT engine",
                                CloseCode.UNSUPPORTED_DATA) from exc
        # A restricted writer's deletions must all be of content the server has seen, or they
        # could land in another root later. Yjs clients send their whole delete set with each
        # update, so for everyone else only inserts are held to that.
        integrated = (inserts_integrated(probe, update) if scope.unrestricted
                      else fully_integrated(probe, update))
        if not integrated:
            self.reset()
            reason = "update depends on content the server does not have"
            if scope.unrestricted:
                raise ProtocolError(f"undecodable: {reason}", CloseCode.UNSUPPORTED_DATA)
            raise WriteRejected(f"out-of-scope: {reason}")
        created = set(probe.keys()) - before
        touched = frozenset(self._touched | created)
        self._touched.clear()
        try:
            if self._refused_shape is not None:
                raise self._refused_shape
            self._check_created_roots(probe, created)
        except ShapeRefused as exc:
            self.reset()
            raise ProtocolError(exc.reason, CloseCode.UNSUPPORTED_DATA) from exc
        if not touched:
            if probe.get_state() == state_before and (not scope.unrestricted
                                                      or fully_integrated(probe, update)):
                return False
            # New content that left no visible trace (inserted and deleted at once), or
            # deletions still waiting for their content, are writes all the same.
            if scope.read_only:
                self.reset()
                raise WriteRejected("read-only: your role cannot change the text")
            return True
        if scope.read_only:
            self.reset()
            raise WriteRejected("read-only: your role cannot change the text", touched)
        if dead := touched & retired:
            self.reset()
            raise WriteRejected("out-of-scope: that section was deleted", dead)
        forbidden = frozenset(root for root in touched if not scope.allows(root))
        if forbidden:
            self.reset()
            raise WriteRejected("out-of-scope: update outside your write scope", forbidden)
        return True

    def _check_created_roots(self, probe: Doc[Any], created: set[str]) -> None:
        """A root created by this update was not observed while it applied: walk it whole
        (all of it is new, so the walk costs no more than the update).

        It is observed first: the first typed read of a root fixes the kind of events it
        raises from then on, and only a fragment's events list both the sequence and the map
        entries a later update adds (read first as text, a root would hide its map entries)."""
        self._observe(created)
        check_depth(((child, 1) for name in created for child in root_children(probe, name)),
                    self.max_depth)

    def passed(self, update: bytes) -> None:
        """`update` was accepted without the probe (`crdt.quick_check`): the probe applies it
        too before its next check, all such in one transaction, or is rebuilt if too many
        piled up."""
        if self._probe is None:
            return  # rebuilt from the live doc and what is not live yet, which have it
        self._behind.append(update)
        if len(self._behind) > MAX_BEHIND:
            self.reset()

    def _current_probe(self, live: Doc[Any],
                       not_live: Callable[[], list[bytes]]) -> Doc[Any]:
        if self._probe is not None and self._behind:
            behind, self._behind = self._behind, []
            with self._probe.transaction():
                for update in behind:
                    self._probe.apply_update(update)
        if self._probe is None:
            self._probe = Doc()
            with self._probe.transaction():
                self._probe.apply_update(live.get_update())
                for update in not_live():
                    self._probe.apply_update(update)
            self._observed.clear()
        return self._probe

    def reset(self) -> None:
        """Drop the probe (after a refusal, or when the live doc refused what the probe took):
        it is rebuilt from the live doc on next use."""
        self._probe = None
        self._observed.clear()
        self._behind.clear()

    def _observe(self, roots: set[str]) -> None:
        assert self._probe is not None
        for name in roots - self._observed.keys():
            # Remote roots arrive untyped; any shared type observes its branch deeply, and the
            # probe never encodes anything, so reading every root as a fragment is harmless.
            root = self._probe.get(name, type=XmlFragment)
            self._observed[name] = root.observe_deep(
                lambda events, *_txn, name=name: self._on_events(name, events)
            )

    def _on_events(self, root: str, events: list[object]) -> None:
        """Runs inside the probe's transaction, the only time its events can be read."""
        self._touched.add(root)
        if self._refused_shape is not None:
            return
        starts: list[tuple[SharedType, int]] = []
        for event in events:
            inserted = list(inserted_types(getattr(event, "delta", None),
                                           getattr(event, "keys", None)))
            if inserted:
                # The target sits len(path) levels below its root; what it gained, one more.
                depth = len(getattr(event, "path", ())) + 1
                starts.extend((node, depth) for node in inserted)
        try:
            check_depth(starts, self.max_depth)
        except ShapeRefused as exc:
            # Raising here would unwind through the engine: keep it for `check` to raise.
            self._refused_shape = exc
