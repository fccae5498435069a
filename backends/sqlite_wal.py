"""Is a SQLite write-ahead log whole? SQLite itself silently drops every commit past a cut.

A -wal is a 32-byte header and whole frames (a 24-byte header and a page each). A cut mid-frame shows in its
size; a cut between two frames shows against the -shm the last writer left, which counts the committed ones.
Formats: https://www.sqlite.org/fileformat2.html#walformat and #wal-index format.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

WAL_HEADER_BYTES = 32
WAL_FRAME_HEADER_BYTES = 24
WAL_MAGICS = (0x377F0682, 0x377F0683)
WAL_INDEX_HEADER_BYTES = 48
WAL_LOOKS = 3
WAL_LOOK_INTERVAL_S = 0.05


def wal_cut(path: Path) -> str | None:
    """What is wrong with the -wal of database `path` if it was cut; None if it is whole (or absent).

    A live writer in another process appends a frame in two writes, so one look can catch it half
    written: the log counts as cut only if it looks cut, at the same size, on every look.
    """
    wal = path.with_name(path.name + "-wal")
    looks: set[tuple[int, str]] = set()
    for _ in range(WAL_LOOKS):
        look = _wal_problem(wal)
        if look is None:
            return None
        looks.add(look)
        time.sleep(WAL_LOOK_INTERVAL_S)
    return f"has a write-ahead log {wal.name} {looks.pop()[1]}" if len(looks) == 1 else None


def _wal_problem(wal: Path) -> tuple[int, str] | None:
    """(size, what is wrong) if the log is not whole frames or lost committed ones; None if whole (or absent)."""
    # The index first: a writer appends frames before it counts them, so this order never sees more
    # counted than written.
    index, _ = _read(wal.with_name(wal.name.removesuffix("-wal") + "-shm"), 2 * WAL_INDEX_HEADER_BYTES)
    header, size = _read(wal, WAL_HEADER_BYTES)
    if header is None or size == 0:
        return None
    if len(header) < WAL_HEADER_BYTES or struct.unpack(">I", header[:4])[0] not in WAL_MAGICS:
        return size, "whose header is cut or overwritten"
    frame_bytes = WAL_FRAME_HEADER_BYTES + struct.unpack(">I", header[8:12])[0]
    if (size - WAL_HEADER_BYTES) % frame_bytes:
        return size, "ending in a partial frame: it was cut, commits are lost"
    frames = (size - WAL_HEADER_BYTES) // frame_bytes
    committed = _committed_frames(index, header[16:24])
    if committed is not None and committed > frames:
        return size, f"holding {frames} frames where {committed} were committed: it was cut, commits are lost"
    return None


def _read(path: Path, limit: int) -> tuple[bytes | None, int]:
    """Up to `limit` bytes from the start of `path`, and its size; (None, 0) if it does not exist."""
    try:
        with path.open("rb") as file:
            return file.read(limit), os.fstat(file.fileno()).st_size
    except FileNotFoundError:
        return None, 0


def _committed_frames(index: bytes | None, wal_salts: bytes) -> int | None:
    """The frames the wal-index (-shm, left by the last writer) counts as committed, if it describes this log.

    Its header is two identical copies of SQLite's WalIndexHdr: mxFrame (native byte order) at 16, the
    log's salts at 32. Different salts mean another generation of the log: then it says nothing.
    """
    if index is None or len(index) < 2 * WAL_INDEX_HEADER_BYTES:
        return None
    if index[:WAL_INDEX_HEADER_BYTES] != index[WAL_INDEX_HEADER_BYTES:]:
        return None
    if index[32:40] != wal_salts:  # copied byte for byte from the log's header
        return None
    return int(struct.unpack_from("=I", index, 16)[0])
