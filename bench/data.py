"""Benchmark data: synthetic coins with their whole daily history, built in-process and written to a store.

Documents are built straight from the fake market's candles (no HTTP), so
seeding a store costs little of the benchmark's time budget; the ingest
benchmark measures the HTTP path on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from common.candles import DAILY_MINUTES, Candle, CandleSeries, utc_from_unix
from common.document import CoinDocument
from common.listings import from_first_day
from common.ports import FirstDay
from common.sources import SourceAnswer, decide_document
from fake_exchange.market import FakeMarket, synthetic_market
from fake_exchange.ohlc import Row

# About 15 years of daily candles: the oldest coins' composite daily history since listing.
FULL_HISTORY_DAYS = 5500
EXCHANGE = "kraken"


def market(n_coins: int, now: datetime, days: int = FULL_HISTORY_DAYS) -> FakeMarket:
    """The benchmark's market: `n_coins` made-up coins, each with `days` of daily candles."""
    return synthetic_market(n_coins, now, days=days)


def _daily(rows: Sequence[Row], now: datetime) -> CandleSeries:
    """The rows up to `now` as an exchange's whole daily history (the last candle unfinished)."""
    cutoff = now.timestamp()
    visible = [r for r in rows[0 : len(rows)] if r[0] <= cutoff]  # one slice: LazyRows item by item is slow
    candles = tuple(Candle(utc_from_unix(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in visible)
    return CandleSeries(DAILY_MINUTES, candles, candles[-2].open_time if len(candles) > 1 else None)


def _answer(exchange: str, pair: str, quote: str, daily: CandleSeries) -> SourceAnswer:
    first = next(c for c in daily.candles if c.volume > 0)
    facts = FirstDay(first.open_time, first.vwap, first.volume * first.vwap, price_is_vwap=True)
    return SourceAnswer(exchange, pair, from_first_day(exchange, pair, quote, facts), series=(daily,), daily=daily)


def documents(fake_market: FakeMarket, now: datetime) -> list[CoinDocument]:
    """Every coin's document as the worker decides it: a daily history since listing, one close a day.

    Built from the listing exchange's daily candles without HTTP (the synthetic coins list
    elsewhere later, on the same prices, so the composite is that exchange's history).
    """
    docs = []
    for coin in fake_market:
        answer = _answer(EXCHANGE, coin.pair_name, "USD", _daily(coin.rows_on(EXCHANGE), now))
        docs.append(decide_document(coin.symbol, [answer], None, now, history_since=None))
    return docs


def write_embedded(docs: Sequence[CoinDocument], data_dir: Path) -> Path:
    """Write `docs` to the embedded store under `data_dir` (where `delos serve` looks); returns its path."""
    from backends.sqlite_store import SQLiteCoinStore

    path = data_dir / "coins.sqlite3"
    store = SQLiteCoinStore(path)
    try:
        store.save_all_if_better(docs)
    finally:
        store.close()
    return path
