"""The images a run leaves in its working directory, handed back to the host.

A run's PID 1 (the fork server's B, trusted code outside the program's privileges) looks at the
top level of the run's tmpfs once the program has exited and passes what it found as one memfd
with the exit status (``_zygote._collect_artifacts`` writes the archive). This module reads that
archive on the host and decides what is kept: never more than ``Limits.artifact_count`` images
and ``Limits.artifact_bytes`` bytes in all, only names ending in ``.png`` or ``.svg`` whose
content is that kind of image (a PNG's signature, an SVG's ``<svg`` element), never a file the
host itself laid out. What is not kept is still listed with a note saying why, up to twice the
count in all (a program that writes thousands of files does not get thousands of rows). The images
are data for an ``<img>`` element (where an SVG's scripts never run), never a document.

Only the bwrap backend's Python fork server collects images; other runs have none.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from .types import Artifact

MEDIA_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LISTED_PER_KEPT = 2
"""A run's images are listed (kept or not) up to twice the count kept; the rest are not listed."""
_ENTRY_OVERHEAD = 320  # a header line and a name of at most 255 bytes
_SCAN_LIMIT = 4096  # _zygote.ARTIFACT_SCAN: the entries B looks at, at most
_NOTES = {
    b"large": "over the run's {budget} image bytes",
    b"count": "over the {count} images kept per run",
    b"special": "not a regular file (symlinks, FIFOs and devices are never read)",
    b"unreadable": "the program left it unreadable",
    b"empty": "the file is empty",
}


def artifact_archive_limit(budget: int) -> int:
    """The largest archive B can send for a ``budget`` of image bytes."""
    return budget + _SCAN_LIMIT * _ENTRY_OVERHEAD + 32


def read_memfd(fd: int, limit: int) -> bytes:
    """The whole content of ``fd`` from its start, or nothing if it is over ``limit`` bytes."""
    size = os.fstat(fd).st_size
    if size > limit:
        return b""
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def media_type(name: str) -> str | None:
    """The media type a name claims by its extension, if it is an image kept from runs."""
    return MEDIA_TYPES.get(os.path.splitext(name)[1].lower())


def content_matches(kind: str, data: bytes) -> bool:
    """Whether ``data`` is what ``kind`` says: a PNG signature, or an SVG document in UTF-8."""
    if kind == "image/png":
        return data.startswith(PNG_SIGNATURE)
    try:
        head = data[:4096].decode("utf-8").lower()
    except UnicodeDecodeError:
        return False
    return "<svg" in head


def parse_artifacts(
    archive: bytes, *, count: int, budget: int, inputs: Collection[str] = ()
) -> list[Artifact]:
    """The archive's images as ``Artifact`` values (see the module docstring); a malformed
    archive yields what was read before the fault."""
    found: list[Artifact] = []
    if count <= 0 or not archive:
        return found
    kept = used = 0
    entries = _entries(archive)
    for raw_name, data, size, kind in entries:
        if len(found) >= LISTED_PER_KEPT * count:
            break
        name = raw_name.decode("utf-8", errors="replace")
        claimed = media_type(name)
        if claimed is None or name in inputs or "/" in name:
            continue
        note: str | None = None
        if kind != b"ok":
            note = _NOTES.get(kind, "not collected").format(budget=_bytes(budget), count=count)
        elif not content_matches(claimed, data):
            note = f"its content is not {'a PNG' if claimed == 'image/png' else 'an SVG'} image"
        elif kept >= count:
            note = _NOTES[b"count"].format(count=count)
        elif used + len(data) > budget:
            note = _NOTES[b"large"].format(budget=_bytes(budget))
        if note is None:
            kept += 1
            used += len(data)
            found.append(Artifact(name, claimed, len(data), data))
        else:
            found.append(Artifact(name, claimed, max(size, len(data)), b"", note))
    return found


def _entries(archive: bytes) -> list[tuple[bytes, bytes, int, bytes]]:
    """``N\\n`` then, N times, ``len(name) len(data) size kind\\n`` + name + data."""
    entries: list[tuple[bytes, bytes, int, bytes]] = []
    try:
        end = archive.index(b"\n")
        total = int(archive[:end])
        pos = end + 1
        for _ in range(min(total, _SCAN_LIMIT)):
            end = archive.index(b"\n", pos, pos + 96)
            name_len_s, data_len_s, size_s, kind = archive[pos:end].split()
            name_len, data_len, size = int(name_len_s), int(data_len_s), int(size_s)
            if not (0 < name_len <= 1024 and data_len >= 0 and size >= 0):
                break
            pos = end + 1
            name = archive[pos : pos + name_len]
            data = archive[pos + name_len : pos + name_len + data_len]
            if len(name) != name_len or len(data) != data_len:
                break
            pos += name_len + data_len
            entries.append((name, data, size, kind))
    except ValueError:
        pass
    return entries


def _bytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"
