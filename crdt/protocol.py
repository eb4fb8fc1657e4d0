"""Decoding what a y-websocket client sends, strictly, before anything acts on it.

Messages are built with pycrdt's helpers (`create_sync_message`, `create_update_message`, …).
Parsing untrusted bytes is ours: pycrdt's `Decoder` trusts its input (a truncated varint raises
`IndexError`, an endless one grows a bigint for as long as the buffer lasts), so the framing is
read here with bounded varints and every failure becomes one `ProtocolError` with a close code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum

from pycrdt import Encoder, YMessageType, YSyncMessageType, write_message

# A Yjs varint never needs more than 8 bytes for the lengths and ids that matter here.
_MAX_VARINT_BYTES = 8

MESSAGE_AUTH = 2
MESSAGE_QUERY_AWARENESS = 3
AUTH_PERMISSION_DENIED = 0


class CloseCode(IntEnum):
    """The protocol's close codes; the app's own (44xx) are `app.close_codes`."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


# The stable first word of a close reason (DESIGN §5) when the raiser gave none.
_FIRST_WORDS: dict[int, str] = {CloseCode.PROTOCOL_ERROR: "malformed",
                                CloseCode.UNSUPPORTED_DATA: "undecodable",
                                CloseCode.MESSAGE_TOO_BIG: "too-big"}


class ProtocolError(Exception):
    """A message the server will not act on; the connection that sent it is closed.

    `reason` becomes the close reason, which starts with a stable word a client can match
    ("malformed: truncated varint"); the code's usual word is put first if it has none."""

    def __init__(self, reason: str, code: int = CloseCode.PROTOCOL_ERROR) -> None:
        word = _FIRST_WORDS.get(code)
        if word is not None and ":" not in reason:
            reason = f"{word}: {reason}"
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    """Sync step 2 and a plain update carry the same thing: an update to apply."""

    update: bytes
    is_step2: bool


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class Ignored:
    """Auth messages from a client and unknown types: never acted on, never relayed."""

    message_type: int


Message = SyncStep1 | SyncUpdate | AwarenessUpdate | QueryAwareness | Ignored


def read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a Yjs varint at `pos`; return it and the position after it."""
    value = 0
    shift = 0
    for index in range(pos, min(len(data), pos + _MAX_VARINT_BYTES)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    if len(data) - pos >= _MAX_VARINT_BYTES:
        raise ProtocolError("varint too long")
    raise ProtocolError("truncated varint")


def read_var_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = read_var_uint(data, pos)
    end = pos + length
    if end > len(data):
        raise ProtocolError("truncated payload")
    return data[pos:end], end


def _read_last_var_bytes(data: bytes, pos: int) -> bytes:
    payload, end = read_var_bytes(data, pos)
    if end != len(data):
        raise ProtocolError("trailing bytes after payload")
    return payload


def _check_counts(payload: bytes, what: str) -> None:
    """The engine pre-allocates by the leading count of a state vector or an update, so a
    ten-byte message claiming a billion entries would cost a gigabyte: each entry takes at
    least two bytes, which bounds any honest count."""
    count, _ = read_var_uint(payload, 0) if payload else (0, 0)
    if count > len(payload) // 2:
        raise ProtocolError(f"{what} claims more entries than it holds",
                            CloseCode.UNSUPPORTED_DATA)


def parse_message(data: bytes) -> Message:
    """Decode one client message, or raise `ProtocolError` saying what is wrong with it."""
    if not data:
        raise ProtocolError("empty message")
    message_type, pos = read_var_uint(data, 0)
    if message_type == YMessageType.SYNC:
        sync_type, pos = read_var_uint(data, pos)
        payload = _read_last_var_bytes(data, pos)
        if sync_type == YSyncMessageType.SYNC_STEP1:
            _check_counts(payload, "state vector")
            return SyncStep1(payload)
        if sync_type in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
            _check_counts(payload, "update")
            return SyncUpdate(payload, is_step2=sync_type == YSyncMessageType.SYNC_STEP2)
        raise ProtocolError(f"unknown sync message type {sync_type}")
    if message_type == YMessageType.AWARENESS:
        return AwarenessUpdate(_read_last_var_bytes(data, pos))
    if message_type == MESSAGE_QUERY_AWARENESS:
        return QueryAwareness()
    return Ignored(message_type)


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: dict[str, object] | None


def parse_awareness_update(payload: bytes) -> list[AwarenessEntry]:
    """Decode a whole awareness update, so a malformed one is refused before any of it applies."""
    count, pos = read_var_uint(payload, 0)
    entries: list[AwarenessEntry] = []
    for _ in range(count):
        client_id, pos = read_var_uint(payload, pos)
        clock, pos = read_var_uint(payload, pos)
        raw, pos = read_var_bytes(payload, pos)
        try:
            state = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ProtocolError("awareness state is not JSON", CloseCode.UNSUPPORTED_DATA) from exc
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("awareness state is not an object", CloseCode.UNSUPPORTED_DATA)
        entries.append(AwarenessEntry(client_id, clock, state))
    if pos != len(payload):
        raise ProtocolError("trailing bytes after awareness update")
    return entries


def encode_awareness_update(entries: list[AwarenessEntry]) -> bytes:
    """The inverse of `parse_awareness_update`, with pycrdt's encoder. ASCII-only JSON, since
    `Encoder.write_var_string` counts characters where the protocol counts bytes."""
    encoder = Encoder()
    encoder.write_var_uint(len(entries))
    for entry in entries:
        encoder.write_var_uint(entry.client_id)
        encoder.write_var_uint(entry.clock)
        encoder.write_var_string(json.dumps(entry.state, separators=(",", ":"), ensure_ascii=True))
    return encoder.to_bytes()


def create_permission_denied_message(reason: str) -> bytes:
    """The y-websocket auth message `[2, 0, reason]` that tells a client why it is cut off."""
    return bytes([MESSAGE_AUTH, AUTH_PERMISSION_DENIED]) + write_message(reason.encode())
