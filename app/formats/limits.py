"""What an imported file must pass before any parser sees it.

A `.docx` is a zip: a small upload can declare, or simply hold, gigabytes once inflated (a zip
bomb). The central directory's declared sizes are summed and checked first, then every member
is inflated in chunks while the bytes actually produced are counted, because declared sizes
lie. An encrypted Word file is not a zip at all but an OLE compound file (the encrypted package
inside it), recognised by its magic number and refused in words a person understands.
"""

from __future__ import annotations

import io
import zipfile
from typing import Literal

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 64 * 1024

RefusalKind = Literal["too-big", "encrypted", "malformed", "unsupported"]


class ImportRefused(Exception):
    """A file the import will not take; `kind` says why, `detail` says it to the person."""

    def __init__(self, kind: RefusalKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def check_size(size: int, max_bytes: int) -> None:
    if max_bytes and size > max_bytes:
        raise ImportRefused("too-big", f"The file is {size} bytes; an import may be at most "
                                       f"{max_bytes} bytes")


def check_docx(data: bytes, max_unzipped: int) -> None:
    """Raise `ImportRefused` unless `data` is an unencrypted zip that inflates to at most
    `max_unzipped` bytes (0: no bound) without errors."""
    if data.startswith(OLE_MAGIC):
        raise ImportRefused("encrypted", "This Word file is password-protected (encrypted) or "
                                         "in the old .doc format; save it unprotected as .docx "
                                         "and import that")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImportRefused("malformed", "This is not a readable .docx file (not a zip "
                                         "archive)") from exc
    with archive:
        members = archive.infolist()
        declared = sum(m.file_size for m in members)
        if max_unzipped and declared > max_unzipped:
            raise _inflated_too_big(max_unzipped)
        if any(m.flag_bits & 0x1 for m in members):
            raise ImportRefused("encrypted", "This .docx file is encrypted; save it "
                                             "unprotected and import that")
        inflated = 0
        for member in members:
            try:
                with archive.open(member) as stream:
                    while chunk := stream.read(_CHUNK):
                        inflated += len(chunk)
                        if max_unzipped and inflated > max_unzipped:
                            raise _inflated_too_big(max_unzipped)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError,
                    EOFError) as exc:
                raise ImportRefused("malformed", "This .docx file is damaged: a part of it "
                                                 "cannot be unpacked") from exc


def _inflated_too_big(max_unzipped: int) -> ImportRefused:
    return ImportRefused("too-big", f"This .docx file unpacks to more than {max_unzipped} "
                                    "bytes, the most an import may")
