"""Packed number arrays in stored documents: one string per array instead of one stored value per number.

A coin's history is thousands of (time, close) pairs. Stored as lists, every
number is a value the store must encode and the reader decode (and, in
Firestore's client, deep-copy) one by one: seconds for a thousand long
histories. Packed, each array is one string, decoded in a few C calls, in
SQLite's JSON and Firestore alike: base64 of zlib of little-endian 8-byte
numbers (zlib takes a daily history's times to a third of their size).
"""

from __future__ import annotations

import base64
import binascii
import sys
import zlib
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from common.errors import BadPriceData

ENCODING = "zlib-le64-base64"


def pack(typecode: str, values: Sequence[Any]) -> str:
    """`values` (typecode "q" or "d") as one string."""
    packed = array(typecode, values)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(zlib.compress(packed.tobytes(), 1)).decode("ascii")


def unpack(typecode: str, stored: Any, convert: Callable[[Any], Any]) -> array[Any]:
    """The array pack() stored, or a plain stored list of numbers (documents written before packing)."""
    if not isinstance(stored, str):
        try:
            return array(typecode, stored)  # numbers straight from JSON or Firestore pack in one C call
        except TypeError:  # e.g. numbers stored as strings: convert each
            return array(typecode, (convert(v) for v in stored))
    try:
        raw = zlib.decompress(base64.b64decode(stored, validate=True))
    except (binascii.Error, zlib.error) as exc:
        raise BadPriceData(f"packed numbers are corrupt: {exc}") from exc
    if len(raw) % 8:
        raise BadPriceData("packed numbers are not a whole number of 8-byte values")
    values = array(typecode)
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    return values
