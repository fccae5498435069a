"""Choosing one pair per coin, and Bitfinex's pair spelling, as properties over any input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backends.bitfinex import split_pair
from backends.sources import preferred_pairs
from common.exchanges import QUOTES, common_symbol
from common.ports import Pair
from fake_exchange.bitfinex_server import bitfinex_pair

SYMBOLS = st.sampled_from(["BTC", "ETH", "DOGE", "LINK", "MDOGE", "SOL"])
QUOTE_CODES = st.sampled_from([*QUOTES, "EUR", "GBP", "BTC"])
CANDIDATES = st.lists(st.builds(lambda s, q, n: Pair(s, f"{s}{q}{n}", q), SYMBOLS, QUOTE_CODES, st.integers(0, 3)))


@given(CANDIDATES)
def test_one_pair_per_symbol_in_the_most_preferred_quote_it_has(candidates: list[Pair]) -> None:
    chosen = preferred_pairs(candidates)
    assert len({p.symbol for p in chosen}) == len(chosen)
    for pair in chosen:
        offered = [QUOTES.index(c.quote) for c in candidates if c.symbol == pair.symbol and c.quote in QUOTES]
        assert QUOTES.index(pair.quote) == min(offered)
    assert {p.symbol for p in chosen} == {c.symbol for c in candidates if c.quote in QUOTES}


@given(CANDIDATES)
def test_the_choice_does_not_depend_on_the_order_of_the_list_beyond_ties(candidates: list[Pair]) -> None:
    forward = {(p.symbol, p.quote) for p in preferred_pairs(candidates)}
    backward = {(p.symbol, p.quote) for p in preferred_pairs(list(reversed(candidates)))}
    assert forward == backward


@given(SYMBOLS, st.sampled_from(QUOTES))
def test_bitfinex_pairs_read_back_as_our_symbol_and_quote(symbol: str, quote: str) -> None:
    parts = split_pair(bitfinex_pair(symbol, quote))
    assert parts is not None
    assert (common_symbol("bitfinex", parts[0]), common_symbol("bitfinex", parts[1])) == (symbol, quote)


def test_dog_on_bitfinex_is_never_doge() -> None:
    assert bitfinex_pair("DOGE", "USD") == "DOGE:USD"
    assert bitfinex_pair("MDOGE", "USD") == "DOGUSD"
    assert bitfinex_pair("BTC", "USDT") == "BTCUST"
    assert split_pair("BTCUSDT") is None  # seven letters without a colon is no pair Bitfinex spells
