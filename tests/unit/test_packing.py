"""Packed history arrays: exact round trips, old list-form documents still read, corrupt packing refused."""

from __future__ import annotations

import base64
import math
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.document import from_dict, to_dict
from common.errors import BadPriceData
from common.packing import BLOCK_DAYS, pack, pack_blocks, pack_times, unpack, unpack_times
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

    assert list(history["closes"]) == ["b0"] and isinstance(history["closes"]["b0"], str)
    assert len(history["times"]["runs"]) % 3 == 0
    assert from_dict(to_dict(doc)) == doc


@given(st.lists(finite, max_size=3 * BLOCK_DAYS + 5), st.booleans())
def test_closes_packed_in_blocks_come_back_exactly(closes: list[float], binary: bool) -> None:
    blocks = pack_blocks(closes, binary=binary)

    assert len(blocks) == -(-len(closes) // BLOCK_DAYS)
    assert list(unpack("d", blocks, float)) == closes


def test_a_history_of_fifteen_years_is_six_blocks_of_which_only_the_last_grows() -> None:
    closes = [float(i) for i in range(5_500)]
    before, after = pack_blocks(closes, binary=True), pack_blocks([*closes, 1.5], binary=True)

    assert list(after) == ["b0", "b1", "b2", "b3", "b4", "b5"]
    assert [key for key in after if after[key] != before.get(key)] == ["b5"]


@pytest.mark.parametrize("blocks", [{"b1": b""}, {"b0": b"\0" * 8, "b1": b"\0" * 8}, {"x": b""}])
def test_blocks_out_of_order_or_short_are_bad_price_data(blocks: dict[str, bytes]) -> None:
    with pytest.raises(BadPriceData):
        unpack("d", blocks, float)


@given(
    st.integers(min_value=-3, max_value=30_000),
    st.sampled_from([86_400, 7 * 86_400, 15 * 86_400, 3_600, 86_401]),
    st.integers(min_value=1, max_value=6_000),
    st.integers(min_value=-1, max_value=6_000),
)
def test_runs_of_whole_days_and_any_other_come_back_exactly(day: int, step: int, count: int, bump: int) -> None:
    # Days from a midnight take the grid's fast path; other steps, negative or shifted times the plain one.
    times = [day * 86_400 + step * k for k in range(count)]
    if 0 <= bump < count:
        times[bump:] = [t + 1 for t in times[bump:]]  # one run broken in two
    runs = pack_times(array("q", times))

    assert list(unpack_times({"runs": runs})) == times
    assert runs == pack_times(times)  # a list packs as the array does


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
