"""Benchmark data: synthetic coins with their whole weekly history, built in-process and written to a store.

Documents are built straight from the fake market's candles (no HTTP), so
seeding a store costs little of the benchmark's time budget; the ingest
benchmark measures the HTTP path on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from common.candles import DAILY_MINUTES, FIFTEEN_DAY_MINUTES, WEEKLY_MINUTES, Candle, CandleSeries, utc_from_unix
from common.coin import build_document, needs_coarser_history
from common.document import CoinDocument
from fake_exchange.market import FakeMarket, synthetic_market
from fake_exchange.ohlc import Row, ohlc_answer

# About 13.7 years of daily candles: ~715 weekly candles, just under Kraken's 720-entry cap, so every
# coin carries the longest weekly history the exchange can give without cutting it short.
FULL_HISTORY_DAYS = 5000
EXCHANGE = "kraken"


def market(n_coins: int, now: datetime, days: int = FULL_HISTORY_DAYS) -> FakeMarket:
    """The benchmark's market: `n_coins` made-up coins, each with `days` of daily candles."""
    return synthetic_market(n_coins, now, days=days)


def _series(rows: Sequence[Row], interval_minutes: int, now: datetime) -> CandleSeries:
    answer = ohlc_answer(rows, interval_minutes, int(now.timestamp()))
    candles = tuple(Candle(utc_from_unix(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in answer.rows)
    return CandleSeries(interval_minutes, candles, utc_from_unix(answer.last))


def documents(fake_market: FakeMarket, now: datetime) -> list[CoinDocument]:
    """Every coin's document, as the worker would compute it from the exchange's answers at `now`."""
    docs = []
    for coin in fake_market:
        weekly = _series(coin.daily, WEEKLY_MINUTES, now)
        coarse = _series(coin.daily, FIFTEEN_DAY_MINUTES, now) if needs_coarser_history(weekly, None) else None
        docs.append(
            build_document(
                symbol=coin.symbol,
                exchange=EXCHANGE,
                pair=coin.pair_name,
                weekly=weekly,
                daily=_series(coin.daily, DAILY_MINUTES, now),
                now=now,
                coarse=coarse,
            )
        )
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
