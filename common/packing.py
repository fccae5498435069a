"""Packed number arrays in stored documents: a few stored values per array instead of one per number.

A coin's history is thousands of (time, close) pairs. Stored as lists, every
number is a value the store must encode and the reader decode (and, in
Firestore's client, deep-copy) one by one: seconds for a thousand long
histories. Packed, they decode in a few C calls, in SQLite's JSON and Firestore
alike:
- closes: one base64 string of little-endian float64s (prices do not compress,
  so nothing is spent trying);
- times: runs of evenly spaced times, `[start, step, count, start, step, count, ...]`:
  a daily history is one run, a weekly stretch before it another, so a history's
  times are a handful of integers, rebuilt with `range`.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from common.errors import BadPriceData

ENCODING = "f64le-base64;time-runs"


def pack(typecode: str, values: Sequence[Any]) -> str:
    """`values` (typecode "q" or "d") as one base64 string of little-endian 8-byte numbers."""
    packed = array(typecode, values)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack(typecode: str, stored: Any, convert: Callable[[Any], Any]) -> array[Any]:
    """The array pack() stored, or a plain stored list of numbers (documents written before packing)."""
    if not isinstance(stored, str):
        try:
            return array(typecode, stored)  # numbers straight from JSON or Firestore pack in one C call
        except TypeError:  # e.g. numbers stored as strings: convert each
            return array(typecode, (convert(v) for v in stored))
    try:
        raw = base64.b64decode(stored, validate=True)
    except binascii.Error as exc:
        raise BadPriceData(f"packed numbers are corrupt: {exc}") from exc
    if len(raw) % 8:
        raise BadPriceData("packed numbers are not a whole number of 8-byte values")
    values = array(typecode)
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
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
        j = i + 1
        while j + 1 < n and times[j + 1] - times[j] == step:
            j += 1
        runs += [start, step, j - i + 1]
        i = j + 1
    return runs


def unpack_times(stored: Any) -> array[int]:
    """The times pack_times() stored; a base64 string or plain list of each time is read too."""
    if isinstance(stored, str) or not isinstance(stored, dict):
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
        times.extend(range(start, start + step * count, step) if count > 1 else (start,))
    return times
