"""Reading the `comments` Y.Map that held comments before they became server records, for the
migration `0006_comment_records`.

The old browser app wrote each thread as a Y.Map entry of the root map `comments`:
`{section, anchor, head, quote, author: {id, name}, body, suggestion?, status, replies: Y.Array of
{id, author, body, createdAt}, createdAt, decidedBy?, decidedAt?}`. Any member allowed to write
that root could write anything there, so nothing in an entry is trusted:

- Who wrote a thread, a reply or a decision is taken from the stored update rows: the rows are
  replayed in order, and the `origin` of the row (the user whose connection sent it) that first
  holds an entry, a reply id or a status is its author. What the entry names is returned too,
  for content that arrived in a snapshot (compaction drops origins), for the migration to
  weigh (it counts only if it names the owner or a member who may comment).
- Only expected keys are read, never a whole entry. But reading even one value turns it into a
  Python object, recursively, inside the engine: a value nested some ten thousand levels deep
  still loads and then overflows the stack when read, and the process dies. So the replay runs
  in a child process (`python -m app.legacy_comments`) that announces each entry before reading
  it; when the child dies, `LegacyReader` starts another that skips that entry.

The child also computes the update that empties the map (the diff of the document before and
after clearing it), which the migration appends to the document's log.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from pycrdt import Array, Doc, Map

log = logging.getLogger("widen.migrations")

ROOT = "comments"
STATUSES = ("open", "accepted", "rejected", "resolved")
MAX_ANCHOR_BYTES = 256
MAX_TEXT = 10_000
MAX_QUOTE = 2_000
# Entries whose reading may crash the child before a document is given up on (and its map
# only emptied).
MAX_CRASHES_PER_DOCUMENT = 20

# What the child is doing, when not reading an entry.
_LOADING = "\0loading"
_RETIRING = "\0retiring"


@dataclass(frozen=True, slots=True)
class StoredRow:
    origin: str | None
    snapshot: bool
    created_ms: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Authorship:
    """Where a piece of content first appeared: the row's user (None for a snapshot or a row
    without one), whether that row was a snapshot, and its time."""

    origin: str | None
    snapshot: bool
    row_ms: int


@dataclass(frozen=True, slots=True)
class LegacyReply:
    body: str
    written: Authorship
    claimed_author: str | None
    claimed_ms: int | None


@dataclass(frozen=True, slots=True)
class LegacyThread:
    key: str
    section: str
    anchor: tuple[bytes, bytes] | None
    quote: str
    body: str
    suggestion: str | None
    status: str
    written: Authorship
    claimed_author: str | None
    claimed_ms: int | None
    # Where the present status was set (None while open).
    decided: Authorship | None
    claimed_decider: str | None
    claimed_decided_ms: int | None
    replies: list[LegacyReply]


@dataclass
class Reading:
    threads: list[LegacyThread] = field(default_factory=list)
    # (entry, why) for every entry that did not become a thread
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # The update that empties the map; None when there is nothing to empty (or it failed).
    retire: bytes | None = None
    # Set when the document could not be read at all (then nothing else is).
    failure: str | None = None


# --- reading values, one expected key at a time ---------------------------------------------

def _clean(value: str, limit: int) -> str:
    """What PostgreSQL can store: no NUL, valid UTF-8, bounded."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]


def _text(value: Any, limit: int) -> str | None:
    return _clean(value, limit) if isinstance(value, str) else None


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if 0 < value < 2**53 else None


def _user_id(value: Any) -> str | None:
    """The `id` of an `{id, name}` object, if it looks like one of ours."""
    if isinstance(value, dict):
        user_id = value.get("id")
        if isinstance(user_id, str) and 0 < len(user_id) <= 36:
            return user_id
    return None


def _position(value: Any) -> bytes | None:
    if not isinstance(value, str) or len(value) > 2 * MAX_ANCHOR_BYTES:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if 0 < len(raw) <= MAX_ANCHOR_BYTES else None


def _status(value: Any) -> str:
    return value if isinstance(value, str) and value in STATUSES else "open"


# --- the replay, in the child ---------------------------------------------------------------

@dataclass
class _Entry:
    written: Authorship
    status: str | None = None
    decided: Authorship | None = None
    replies: dict[str, Authorship] = field(default_factory=dict)


def read_rows(rows: list[StoredRow], skip: frozenset[str], read_entries: bool,
              mark: Callable[[str], None], emit: Callable[[tuple[str, Any]], None]) -> None:
    """Replay `rows`, emitting ("thread", LegacyThread) and ("skipped", (key, why)) for each
    entry, then ("retire", bytes | None). `mark(key)` is called before any value of an entry
    is read (`mark(_LOADING)` before rows are applied), so a crash can be blamed on it."""
    doc: Doc[Any] = Doc()
    comments = doc.get(ROOT, type=Map)
    entries: dict[str, _Entry] = {}
    changed: set[str] = set()
    top_changed = False

    def observed(events: list[Any], *_: Any) -> None:
        nonlocal top_changed
        for event in events:
            path = event.path  # keys from the root down; never the values
            if not path:
                top_changed = True
            else:
                changed.add(str(path[0]))

    subscription = comments.observe_deep(observed)
    mark(_LOADING)
    for row in rows:
        changed.clear()
        top_changed = False
        try:
            doc.apply_update(row.data)
        except Exception:  # the server would have refused this row too; the rest may load
            continue
        written = Authorship(row.origin, row.snapshot, row.created_ms)
        if top_changed:
            keys = set(comments.keys())
            for key in sorted(keys - entries.keys()):
                entries[key] = _Entry(written)
                changed.add(key)
            for key in entries.keys() - keys:
                del entries[key]
        if read_entries:
            for key in sorted(changed & entries.keys() - skip):
                mark(key)
                _attribute(comments, key, entries[key], written)
            mark(_LOADING)
    comments.unobserve(subscription)

    for key in sorted(entries):
        if key in skip:
            continue
        if not read_entries:
            emit(("skipped", (key, "not read: reading entries crashed the engine too often")))
            continue
        mark(key)
        thread, why = _thread(comments, key, entries[key])
        emit(("thread", thread) if thread is not None else ("skipped", (key, why)))

    mark(_RETIRING)
    retire = None
    if entries:
        before = doc.get_state()
        comments.clear()  # removes entries without reading them
        retire = doc.get_update(before)
    emit(("retire", retire))


def _attribute(comments: Map[Any], key: str, entry: _Entry, written: Authorship) -> None:
    """Note who set the entry's status and added which replies, as this row applies."""
    thread = comments.get(key)
    if not isinstance(thread, Map):
        return
    status = _status(thread.get("status"))
    if status != entry.status:
        entry.decided = None if status == "open" else written
        entry.status = status
    replies = thread.get("replies")
    if isinstance(replies, Array):
        for index in range(len(replies)):
            reply_id = _reply_key(replies[index])
            if reply_id is not None and reply_id not in entry.replies:
                entry.replies[reply_id] = written


def _reply_key(reply: Any) -> str | None:
    if isinstance(reply, dict) and isinstance(reply.get("id"), str):
        return str(reply["id"])[:200]
    return None


def _thread(comments: Map[Any], key: str, entry: _Entry) -> tuple[LegacyThread | None, str]:
    thread = comments.get(key)
    if not isinstance(thread, Map):
        return None, "not a thread (a Y.Map)"
    section = thread.get("section")
    if not isinstance(section, str) or not section:
        return None, "no section"
    start, end = _position(thread.get("anchor")), _position(thread.get("head"))
    suggestion = _text(thread.get("suggestion"), MAX_TEXT)
    body = _text(thread.get("body"), MAX_TEXT)
    if body is None:
        return None, "no body"
    replies: list[LegacyReply] = []
    array = thread.get("replies")
    if isinstance(array, Array):
        for index in range(len(array)):
            reply = array[index]
            reply_id = _reply_key(reply)
            reply_body = _text(reply.get("body"), MAX_TEXT) if isinstance(reply, dict) else None
            if reply_id is None or reply_body is None:
                continue
            replies.append(LegacyReply(
                body=reply_body, written=entry.replies.get(reply_id, entry.written),
                claimed_author=_user_id(reply.get("author")),
                claimed_ms=_ms(reply.get("createdAt"))))
    status = _status(thread.get("status"))
    decided = entry.decided if status != "open" else None
    if status != "open" and decided is None:
        decided = entry.written  # decided in the row that brought the entry
    return LegacyThread(
        key=key, section=section[:36], anchor=(start, end) if start and end else None,
        quote=_text(thread.get("quote"), MAX_QUOTE) or "", body=body, suggestion=suggestion,
        status=status, written=entry.written, claimed_author=_user_id(thread.get("author")),
        claimed_ms=_ms(thread.get("createdAt")), decided=decided,
        claimed_decider=_user_id(thread.get("decidedBy")) if status != "open" else None,
        claimed_decided_ms=_ms(thread.get("decidedAt")) if status != "open" else None,
        replies=replies,
    ), ""


# --- the protocol between the migration and the child ---------------------------------------

def _send(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(stream: IO[bytes]) -> Any:
    size = int.from_bytes(_read_exactly(stream, 8), "big")
    return pickle.loads(_read_exactly(stream, size))  # our own child's messages


def _child() -> None:
    """`python -m app.legacy_comments`: read jobs from stdin, answer on stdout."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the protocol
    jobs = sys.stdin.buffer
    last = ""

    def mark(at: str) -> None:
        nonlocal last
        if at != last:  # say where it is only when that changes
            last = at
            _send(answers, ("at", at))

    while True:
        try:
            rows, skip, read_entries = _receive(jobs)
        except EOFError:
            return
        last = ""
        read_rows(rows, skip, read_entries, mark, lambda message: _send(answers, message))
        _send(answers, ("done", None))


class LegacyReader:
    """Reads documents' legacy comments through a child process, restarted when it dies."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LegacyReader:
        # A child that cannot even start (say, the package is not importable) would look like
        # a crash on every document: refuse to go on instead of migrating nothing.
        reading, crashed_at = self._attempt([], frozenset(), True)
        if crashed_at is not None or reading is None or reading.threads or reading.retire:
            raise RuntimeError("the legacy comment reader (python -m app.legacy_comments) "
                               "does not work here")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._process is not None:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.close()
            self._process.wait(30)
            self._process.stdout.close()
            self._process = None

    def _child(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "app.legacy_comments"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self._process

    def read(self, rows: list[StoredRow], document_id: str = "") -> Reading:
        skip: dict[str, str] = {}
        read_entries = True
        while True:
            reading, crashed_at = self._attempt(rows, frozenset(skip), read_entries)
            if crashed_at is None:
                assert reading is not None
                reading.skipped.extend(skip.items())
                return reading
            log.warning("reading legacy comments crashed the engine",
                        extra={"event": "migration.comment_reader_crashed",
                               "document_id": document_id,
                               "entry": crashed_at if crashed_at[:1] != "\0" else None,
                               "stage": crashed_at.strip("\0") if crashed_at[:1] == "\0"
                               else "reading"})
            if crashed_at == _LOADING:
                return Reading(failure="the document could not be loaded")
            if crashed_at == _RETIRING:
                # What was read stands; the map stays (every writer is refused there anyway).
                assert reading is not None
                reading.skipped.extend(skip.items())
                reading.failure = "the comments map could not be emptied"
                return reading
            skip[crashed_at] = "the engine crashed reading it"
            if len(skip) >= MAX_CRASHES_PER_DOCUMENT:
                read_entries = False

    def _attempt(self, rows: list[StoredRow], skip: frozenset[str],
                 read_entries: bool) -> tuple[Reading | None, str | None]:
        """One run of the child: (the reading, None), or (what was read, where it died)."""
        process = self._child()
        assert process.stdin is not None and process.stdout is not None
        reading = Reading()
        at = _LOADING
        try:
            _send(process.stdin, (rows, skip, read_entries))
            while True:
                kind, value = _receive(process.stdout)
                if kind == "at":
                    at = value
                elif kind == "thread":
                    reading.threads.append(value)
                elif kind == "skipped":
                    reading.skipped.append(value)
                elif kind == "retire":
                    reading.retire = value
                elif kind == "done":
                    return reading, None
        except (EOFError, BrokenPipeError):
            process.wait(30)
            process.stdout.close()
            process.stdin.close()
            self._process = None
            return reading, at


if __name__ == "__main__":
    # Run the imported module's copy, so what it pickles names `app.legacy_comments`, not
    # `__main__`, and the migration can read it.
    from app.legacy_comments import _child as child

    child()
