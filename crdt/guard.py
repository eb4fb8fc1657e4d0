"""Every update is tried on a private replica before it touches the live document.

The room keeps a *probe*: a replica of the live doc that sees each update first. An update is
refused, with the live doc untouched, when the engine cannot apply it (yrs may have applied
part of it by the time it fails, which is why it is the probe that takes that risk), when it
leaves anything unresolved (an insert whose dependencies the server lacks, a deletion of
content it has not seen: those would integrate later, inside somebody else's transaction, and
a malformed one would make that transaction fail), or, for a restricted writer, when it changes
or creates a root outside the writer's scope. The probe observes every root deeply and lists
the roots before and after to tell which roots an update touched. After any refusal it is
dropped and rebuilt from the live doc.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycrdt import Doc, Subscription, XmlFragment

from crdt.protocol import CloseCode, ProtocolError
from crdt.updates import fully_integrated, inserts_integrated

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


class WriteRejected(ProtocolError):
    """An update outside the sender's scope; `roots` names what it would have touched."""

    def __init__(self, reason: str, roots: frozenset[str] = frozenset()) -> None:
        super().__init__(reason, CloseCode.FORBIDDEN)
        self.roots = roots


class Guard:
    def __init__(self) -> None:
        self._probe: Doc | None = None
        self._observed: dict[str, Subscription] = {}
        self._touched: set[str] = set()

    def check(self, update: bytes, scope: WriteScope, live: Doc) -> None:
        """Raise unless `update` may be applied to `live`; on success the probe holds it."""
        probe = self._current_probe(live)
        # Listing roots builds a Python object per root: only restricted writers need it.
        before = set() if scope.unrestricted else set(probe.keys())
        if not scope.unrestricted:
            self._observe(before)
            self._touched.clear()
        try:
            probe.apply_update(update)
        except DECODE_ERRORS as exc:
            self.reset()
            raise ProtocolError("invalid update", CloseCode.UNSUPPORTED_DATA) from exc
        except BaseException as exc:
            if not is_rust_panic(exc):
                raise
            self.reset()
            raise ProtocolError("update rejected by the CRDT engine",
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
                raise ProtocolError(reason, CloseCode.UNSUPPORTED_DATA)
            raise WriteRejected(reason)
        if scope.unrestricted:
            return
        created = set(probe.keys()) - before
        touched = frozenset(self._touched | created)
        self._touched.clear()
        forbidden = frozenset(root for root in touched if not scope.allows(root))
        if forbidden:
            self.reset()
            raise WriteRejected("update outside your write scope", forbidden)

    def _current_probe(self, live: Doc) -> Doc:
        if self._probe is None:
            self._probe = Doc()
            self._probe.apply_update(live.get_update())
            self._observed.clear()
        return self._probe

    def reset(self) -> None:
        """Drop the probe (after a refusal, or when the live doc refused what the probe took):
        it is rebuilt from the live doc on next use."""
        self._probe = None
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
