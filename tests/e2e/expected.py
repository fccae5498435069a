"""Expected answers computed straight from the fake market's daily rows, independently of Delos's code."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from fake_exchange import FakeCoin

WEEK_S = 7 * 86_400
DAY_S = 86_400


@dataclass(frozen=True)
class Expected:
    listing_time: int
    listing_price: float
    mean_close: float
    as_of: int


def expected_for(coin: FakeCoin, now_unix: float) -> Expected:
    rows = list(coin.daily)
    # Prices go over the wire as Kraken-style decimal strings, so compare with a relative tolerance.
    # Kraken's weekly candles are aligned on multiples of a week since the epoch.
    first_week = rows[0][0] - rows[0][0] % WEEK_S
    week = [r for r in rows if first_week <= r[0] < first_week + WEEK_S]
    volume = sum(r[6] for r in week)
    listing_price = sum(r[5] * r[6] for r in week) / volume if volume > 0 else week[0][4]
    finished = [r for r in rows if r[0] + DAY_S <= now_unix]
    end = finished[-1][0] + DAY_S
    month = [r[4] for r in finished if end - 30 * DAY_S <= r[0] < end]
    return Expected(first_week, listing_price, statistics.fmean(month), end)
