"""Updates no honest Yjs client makes, hand-encoded in the Yjs v1 format: pycrdt itself would
recurse (and crash) building them."""

from __future__ import annotations


def var_uint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def var_string(text: str) -> bytes:
    data = text.encode()
    return var_uint(len(data)) + data


def map_entry_update(value: bytes) -> bytes:
    """An update setting one map entry to an encoded lib0 value, hand-encoded."""
    item = bytes([0x28]) + var_uint(1) + var_string("meta") + var_string("key")
    return (var_uint(1) + var_uint(1) + var_uint(123) + var_uint(0) + item + var_uint(1)
            + value + var_uint(0))


def nested_any_update(depth: int, container: int = 117) -> bytes:
    """A value nesting `depth` arrays (117) or objects (118); pycrdt itself would recurse
    building it."""
    level = bytes([container, 1]) + (var_string("k") if container == 118 else b"")
    return map_entry_update(level * depth + bytes([126]))
