"""Which roots of the document an update touches, decided before it reaches the live doc.

A restricted writer's update is applied first to the room's *probe*, a private replica that
observes every root deeply and lists the roots before and after. The update is refused if it
changes or creates a root outside the writer's scope, or if it leaves anything unresolved in
the probe: an insert whose dependencies the server lacks, or a deletion of content the server
has not seen. Those would integrate later, inside somebody else's transaction, beyond any check.

The probe is kept current lazily: accepted updates queue up and are applied in one merge when
the next restricted update needs the probe. After a rejection it is dropped and rebuilt from
the live doc, since the refused update is now inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycrdt import Doc, Subscription, XmlFragment, merge_updates

from crdt.protocol import CloseCode, ProtocolError
from crdt.updates import fully_integrated

# Past this many queued updates the probe is dropped rather than caught up: rebuilding it from
# the live doc is then cheaper, and memory stays bounded in rooms without restricted writers.
_MAX_BACKLOG = 512


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


class WriteRejected(ProtocolError):
    """An update outside the sender's scope; `roots` names what it would have touched."""

    def __init__(self, reason: str, roots: frozenset[str] = frozenset()) -> None:
        super().__init__(reason, CloseCode.FORBIDDEN)
        self.roots = roots


class Guard:
    def __init__(self) -> None:
        self._probe: Doc | None = None
        self._backlog: list[bytes] = []
        self._observed: dict[str, Subscription] = {}
        self._touched: set[str] = set()

    def record(self, update: bytes) -> None:
        """An update was accepted into the live doc; the probe must learn it before next use."""
        if self._probe is None:
            return
        self._backlog.append(update)
        if len(self._backlog) > _MAX_BACKLOG:
            self._drop_probe()

    def check(self, update: bytes, scope: WriteScope, live: Doc) -> None:
        """Raise `WriteRejected` unless `update` stays inside `scope`; on success the probe
        already holds it (do not `record` it again)."""
        probe = self._current_probe(live)
        before = set(probe.keys())
        self._observe(before)
        self._touched.clear()
        try:
            probe.apply_update(update)
        except ValueError as exc:
            raise ProtocolError("invalid update", CloseCode.UNSUPPORTED_DATA) from exc
        created = set(probe.keys()) - before
        touched = frozenset(self._touched | created)
        self._touched.clear()
        forbidden = frozenset(root for root in touched if not scope.allows(root))
        if forbidden:
            self._drop_probe()
            raise WriteRejected("update outside your write scope", forbidden)
        if not fully_integrated(probe, update):
            self._drop_probe()
            raise WriteRejected("update depends on content the server does not have")
        self._observe(created)

    def _current_probe(self, live: Doc) -> Doc:
        if self._probe is None:
            self._probe = Doc()
            self._probe.apply_update(live.get_update())
            self._observed.clear()
        elif self._backlog:
            backlog, self._backlog = self._backlog, []
            self._probe.apply_update(backlog[0] if len(backlog) == 1 else merge_updates(*backlog))
        return self._probe

    def _drop_probe(self) -> None:
        self._probe = None
        self._backlog.clear()
        self._observed.clear()

    def _observe(self, roots: set[str]) -> None:
        assert self._probe is not None
        for name in roots - self._observed.keys():
            # Remote roots arrive untyped; any shared type observes its branch deeply, and the
            # probe never encodes anything, so reading every root as a fragment is harmless.
            root = self._probe.get(name, type=XmlFragment)
            self._observed[name] = root.observe_deep(
                lambda _events, *_txn, name=name: self._touched.add(name)
            )
