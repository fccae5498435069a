"""Packed number arrays in stored documents: a few stored values per array instead of one per number.

A coin's history is thousands of (time, close) pairs. Stored as lists, every
number is a value the store must encode and the reader decode (and, in
Firestore's client, deep-copy) one by one: seconds for a thousand long
histories. Packed, they decode in a few C calls, in SQLite's JSON and Firestore
alike:
- closes: little-endian float64s, as raw bytes where the store holds bytes
  (Firestore) and as base64 text where it holds only text (JSON); prices do not
  compress, so nothing is spent trying. A history's closes are packed in blocks
  of BLOCK_DAYS (pack_blocks), so that a store able to update part of a
  document rewrites only the blocks a refresh changed, not years of past days;
- times: runs of evenly spaced times, `[start, step, count, start, step, count, ...]`:
  a daily history is one run, a weekly stretch before it another, so a history's
  times are a handful of integers. Runs of whole days starting at a UTC midnight
  (every candle's open time) are slices of one cached array of midnights, packed
  and unpacked at memory speed rather than number by number.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from common.errors import BadPriceData

ENCODING = "f64le-blocks;time-runs"
# Closes per stored block: 8 KiB each, a daily history of 15 years in six.
BLOCK_DAYS = 1024
DAY_S = 86_400
# Midnights cached from 1970 on: until 2149, 512 KiB once per process.
GRID_DAYS = 1 << 16


def pack(typecode: str, values: Sequence[Any], *, binary: bool = False) -> str | bytes:
    """`values` (typecode "q" or "d") as little-endian 8-byte numbers: raw bytes if `binary`, else base64 text."""
    packed = array(typecode, values)
    if sys.byteorder != "little":
        packed.byteswap()
    raw = packed.tobytes()
    return raw if binary else base64.b64encode(raw).decode("ascii")


def pack_blocks(closes: Sequence[float], *, binary: bool = False) -> dict[str, str | bytes]:
    """`closes` packed in blocks of BLOCK_DAYS: {"b0": the first, "b1": the next, ...}."""
    return {
        block_key(k): pack("d", closes[start : start + BLOCK_DAYS], binary=binary)
        for k, start in enumerate(range(0, len(closes), BLOCK_DAYS))
    }


def block_key(index: int) -> str:
    """The stored name of block `index` (a name, not a number: a Firestore field path takes it unquoted)."""
    return f"b{index}"


def unpack(typecode: str, stored: Any, convert: Callable[[Any], Any]) -> array[Any]:
    """The array pack() or pack_blocks() stored, or a plain stored list of numbers (documents before packing)."""
    if isinstance(stored, Mapping):
        return _unpack_blocks(typecode, stored, convert)
    if isinstance(stored, bytes):
        raw = stored
    elif isinstance(stored, str):
        try:
            # Strict: any character outside the alphabet or misplaced padding is an error. (b64decode's
            # validate=True checks the same with a regular expression first: twice the cost of this.)
            raw = binascii.a2b_base64(stored, strict_mode=True)
        except binascii.Error as exc:
            raise BadPriceData(f"packed numbers are corrupt: {exc}") from exc
    else:
        try:
            return array(typecode, stored)  # numbers straight from JSON or Firestore pack in one C call
        except TypeError:  # e.g. numbers stored as strings: convert each
            return array(typecode, (convert(v) for v in stored))
    if len(raw) % 8:
        raise BadPriceData("packed numbers are not a whole number of 8-byte values")
    values = array(typecode)
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _unpack_blocks(typecode: str, stored: Mapping[str, Any], convert: Callable[[Any], Any]) -> array[Any]:
    keys = [block_key(k) for k in range(len(stored))]
    if sorted(stored) != sorted(keys):
        raise BadPriceData(f"packed blocks are not b0..b{len(stored) - 1}: {sorted(stored)[:5]!r}")
    blocks = [unpack(typecode, stored[key], convert) for key in keys]
    if any(len(block) != BLOCK_DAYS for block in blocks[:-1]):
        raise BadPriceData(f"a packed block but the last holds other than {BLOCK_DAYS} numbers")
    values: array[Any] = array(typecode)
    for block in blocks:
        values.extend(block)
    return values


def pack_times(times: Sequence[int]) -> list[int]:
    """Increasing integer times as runs `[start, step, count, ...]` of evenly spaced ones."""
    runs: list[int] = []
    i, n = 0, len(times)
    while i < n:
        start = times[i]
        if i + 1 == n:
            runs += [start, 0, 1]
            break
        step = times[i + 1] - start
        j = _days_run_end(times, i, step)
        while j + 1 < n and times[j + 1] - times[j] == step:
            j += 1
        runs += [start, step, j - i + 1]
        i = j + 1
    return runs


def _days_run_end(times: Sequence[int], i: int, step: int) -> int:
    """The index of the last time of the run from `i`, found among whole days by comparing slices of the
    midnight grid (C-speed equality of arrays); `i + 1` when the run is not one of whole days from a midnight."""
    days = _day_slice(times[i], step, 2)
    if days is None:
        return i + 1
    run = times[i:] if isinstance(times, array) and times.typecode == "q" else array("q", times[i:])
    if run == _day_slice(times[i], step, len(run)):  # the common case: one run to the end
        return i + len(run) - 1
    # The longest prefix of `run` that is the grid's progression: binary search over slice equality.
    matched, limit = 2, len(run)
    while matched < limit:
        probe = (matched + limit + 1) // 2
        grid = _day_slice(times[i], step, probe)
        if grid is not None and run[:probe] == grid:
            matched = probe
        else:
            limit = probe - 1
    return i + matched - 1


def unpack_times(stored: Any) -> array[int]:
    """The times pack_times() stored; a base64 string or plain list of each time is read too."""
    if isinstance(stored, (str, bytes)) or not isinstance(stored, dict):
        return unpack("q", stored, int)
    try:
        runs = [int(v) for v in stored["runs"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPriceData(f"packed times are corrupt: {exc!r}") from exc
    if len(runs) % 3:
        raise BadPriceData("packed times are not whole runs of [start, step, count]")
    times: array[int] = array("q")
    for k in range(0, len(runs), 3):
        start, step, count = runs[k : k + 3]
        if count < 1 or (count > 1 and step <= 0):
            raise BadPriceData(f"packed times hold a bad run {runs[k : k + 3]!r}")
        days = _day_slice(start, step, count) if count > 1 else None
        if days is not None:
            times.extend(days)
        else:
            times.extend(range(start, start + step * count, step) if count > 1 else (start,))
    return times


def _day_slice(start: int, step: int, count: int) -> array[int] | None:
    """`count` times from `start` every `step` as a slice of the midnight grid; None unless they are in it."""
    if start < 0 or step <= 0 or start % DAY_S or step % DAY_S:
        return None
    first, stride = start // DAY_S, step // DAY_S
    if first + stride * (count - 1) >= GRID_DAYS:
        return None
    return _midnights()[first : first + stride * (count - 1) + 1 : stride]


@cache
def _midnights() -> array[int]:
    """Every UTC midnight from 1970-01-01 for GRID_DAYS days, as unix seconds."""
    return array("q", range(0, GRID_DAYS * DAY_S, DAY_S))
