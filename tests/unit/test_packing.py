"""Packed history arrays: exact round trips, old list-form documents still read, corrupt packing refused."""

from __future__ import annotations

import base64
import math
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.document import from_dict, to_dict
from common.errors import BadPriceData
from common.packing import pack, unpack
from tests.factories import make_document

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1)), st.lists(finite))
def test_pack_then_unpack_gives_back_every_number_exactly(times: list[int], closes: list[float]) -> None:
    assert list(unpack("q", pack("q", times), int)) == times
    assert list(unpack("d", pack("d", closes), float)) == closes


def test_the_packed_form_is_zlib_of_little_endian_eight_byte_numbers() -> None:
    assert zlib.decompress(base64.b64decode(pack("q", [1]))) == (1).to_bytes(8, "little")
    assert zlib.decompress(base64.b64decode(pack("d", [1.0]))) == bytes.fromhex("000000000000f03f")


def test_a_daily_history_of_times_packs_to_under_half_its_plain_size() -> None:
    days = [1_500_000_000 + 86_400 * i for i in range(5_500)]
    plain_base64 = len(base64.b64encode(bytes(8 * len(days))))
    assert len(pack("q", days)) < plain_base64 / 2


def test_a_stored_document_holds_one_string_per_history_array() -> None:
    doc = make_document("BTC")
    history = to_dict(doc)["history"]

    assert isinstance(history["times"], str) and isinstance(history["closes"], str)
    assert from_dict(to_dict(doc)) == doc


def test_documents_stored_with_plain_lists_are_still_read() -> None:
    doc = make_document("BTC")
    stored = to_dict(doc)
    stored["history"] = {"times": list(doc.history_times), "closes": [str(c) for c in doc.history_closes]}

    restored = from_dict(stored)

    assert list(restored.history_times) == list(doc.history_times)
    assert all(math.isclose(a, b) for a, b in zip(restored.history_closes, doc.history_closes, strict=True))


@pytest.mark.parametrize("garbage", ["not base64!", base64.b64encode(b"seven!!").decode()])
def test_corrupt_packing_is_bad_price_data(garbage: str) -> None:
    stored = to_dict(make_document("BTC"))
    stored["history"]["closes"] = garbage

    with pytest.raises(BadPriceData):
        from_dict(stored)
