"""The query cache holds normal symbols only, so a symbol found as typed needs no further checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from common.errors import InvalidRequest, NotCached
from common.symbols import is_normal_symbol, normalize_symbol
from query_service.cache import CoinCache
from query_service.questions import cached_coin
from tests.unit.fakes import month_coin

AS_OF = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["BTC", "ETH", "A1", "ABCDEFGHIJ12", " btc", "eth", "x", "BTC-USD", "ſol", "é" * 3])
def test_a_normal_symbol_is_exactly_what_normalising_leaves_unchanged(raw: str) -> None:
    try:
        normal = normalize_symbol(raw)
    except InvalidRequest:
        normal = None
    assert is_normal_symbol(raw) == (normal == raw)


def test_a_document_whose_symbol_no_request_can_name_is_not_cached() -> None:
    cache = CoinCache()
    taken = cache.update([replace(month_coin(10.0, (20.0,), AS_OF), symbol="eth")])

    assert taken == 0 and len(cache) == 0


def test_a_symbol_typed_in_lower_case_or_with_spaces_finds_the_same_coin_as_typed_exactly() -> None:
    cache = CoinCache()
    cache.update([month_coin(10.0, (20.0,), AS_OF)])
    cache.loaded = True

    assert cached_coin(cache, "ETH") is cached_coin(cache, " eth ") is cache.get("ETH")
    with pytest.raises(NotCached):
        cached_coin(cache, "BTC")
    with pytest.raises(InvalidRequest):
        cached_coin(cache, "e")
