"""Packed history arrays: exact round trips, old list-form documents still read, corrupt packing refused."""

from __future__ import annotations

import base64
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.document import from_dict, to_dict
from common.errors import BadPriceData
from common.packing import pack, pack_times, unpack, unpack_times
from tests.factories import make_document

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(finite))
def test_pack_then_unpack_gives_back_every_close_exactly(closes: list[float]) -> None:
    assert list(unpack("d", pack("d", closes), float)) == closes


@given(st.lists(st.integers(min_value=0, max_value=2**40), unique=True))
def test_times_packed_as_runs_come_back_exactly(times: list[int]) -> None:
    ordered = sorted(times)
    assert list(unpack_times({"runs": pack_times(ordered)})) == ordered


def test_the_packed_form_of_closes_is_little_endian_float64() -> None:
    assert base64.b64decode(pack("d", [1.0])) == bytes.fromhex("000000000000f03f")


def test_a_daily_history_then_a_weekly_stretch_is_two_runs() -> None:
    weekly = [1_300_000_000 + 604_800 * i for i in range(100)]
    daily = [weekly[-1] + 86_400 * (i + 1) for i in range(5_000)]
    assert pack_times(weekly + daily) == [weekly[0], 604_800, 100, daily[0], 86_400, 5_000]


def test_a_stored_document_holds_a_few_values_per_history_array() -> None:
    doc = make_document("BTC")
    history = to_dict(doc)["history"]

    assert isinstance(history["closes"], str) and len(history["times"]["runs"]) % 3 == 0
    assert from_dict(to_dict(doc)) == doc


def test_documents_stored_with_plain_lists_are_still_read() -> None:
    doc = make_document("BTC")
    stored = to_dict(doc)
    stored["history"] = {"times": list(doc.history_times), "closes": [str(c) for c in doc.history_closes]}

    restored = from_dict(stored)

    assert list(restored.history_times) == list(doc.history_times)
    assert all(math.isclose(a, b) for a, b in zip(restored.history_closes, doc.history_closes, strict=True))


@pytest.mark.parametrize(
    ("field", "garbage"),
    [
        ("closes", "not base64!"),
        ("closes", base64.b64encode(b"seven!!").decode()),
        ("times", {"runs": [1, 2]}),
        ("times", {"runs": [100, -86_400, 3]}),
        ("times", {"runs": "x"}),
    ],
)
def test_corrupt_packing_is_bad_price_data(field: str, garbage: object) -> None:
    stored = to_dict(make_document("BTC"))
    stored["history"][field] = garbage

    with pytest.raises(BadPriceData):
        from_dict(stored)
