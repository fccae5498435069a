"""The lambo question, answered from a cached document: pure arithmetic, no I/O.

`answer` is the one answer function: both gRPC APIs (and so `delos ask`) go through it.
What does not depend on the question (sell prices, the hindsight records) is
prepared once per document by `prepare`, so an answer is arithmetic and one
bisect.
"""

from __future__ import annotations

import enum
from array import array
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from common.document import CoinDocument
from common.hindsight import Hindsight, Records, hindsight, records_of, years_between
from common.money import usd
from common.prices import LastMonth, Listing

LAMBO_PRICE_USD = 200_000.0
STALE_AFTER = timedelta(days=3)


class SellChoice(enum.Enum):
    """Which last-month close the coins are sold at."""

    MEAN = "mean"
    BEST = "best"
    WORST = "worst"
    LATEST = "latest"

    # Members are singletons compared by identity, so the identity hash (in C) is a correct one; Enum's
    # own hashes the name in Python, which every answer paid looking its sell price up.
    __hash__ = object.__hash__


def sell_price(month: LastMonth, choice: SellChoice) -> float:
    """The price received per coin for the chosen way of selling in the last month."""
    if choice is SellChoice.BEST:
        return month.best_close
    if choice is SellChoice.WORST:
        return month.worst_close
    if choice is SellChoice.LATEST:
        return month.latest_close
    return month.mean_close


@dataclass(frozen=True, slots=True)
class CoinFacts:
    """A document with what every answer about it shares, computed once: sell prices and hindsight records.

    Also the per-coin constants an answer reads (`stale_after`, `years_held`), so a request only does
    what depends on its own amounts.
    """

    doc: CoinDocument
    listing: Listing
    listing_s: int
    as_of_s: float
    sell_prices: Mapping[SellChoice, float]
    records: Records
    stale_after: datetime
    years_held: float


def hindsight_points(doc: CoinDocument) -> tuple[array[int], array[float]]:
    """The coin's closes in time order, as parallel arrays (unix s, USD): the history before the last
    month, then the last month's daily closes.

    The last month's daily closes replace the history's points from the first of
    them on, so every close an answer can sell at is in the series.
    """
    month_times = array("q", [int(t.timestamp()) for t in doc.last_month.close_times])
    cut = bisect_left(doc.history_times, month_times[0]) if month_times else len(doc.history_times)
    times = array("q", doc.history_times[:cut])
    closes = array("d", doc.history_closes[:cut])
    times.extend(month_times)
    closes.extend(doc.last_month.closes)
    return times, closes


def prepare(doc: CoinDocument, listing: Listing | None = None) -> CoinFacts:
    """Everything about `doc` that no question changes, bought at `listing` (the document's own by default)."""
    bought = doc.listing if listing is None else listing
    listing_s = int(bought.date.timestamp())
    as_of_s = doc.as_of.timestamp()
    return CoinFacts(
        doc=doc,
        listing=bought,
        listing_s=listing_s,
        as_of_s=as_of_s,
        sell_prices={choice: sell_price(doc.last_month, choice) for choice in SellChoice},
        records=records_of(*hindsight_points(doc), listing_s, bought.price_usd),
        stale_after=doc.as_of + STALE_AFTER,
        years_held=years_between(listing_s, as_of_s),
    )


class LamboAnswer(NamedTuple):
    """The answer to one question; all amounts in USD.

    A NamedTuple, like Hindsight, not a frozen dataclass: one is built per request,
    and a frozen dataclass sets each of its fields through object.__setattr__,
    several times the cost of building a tuple. `answer` builds it positionally
    (keywords cost a NamedTuple three times as much), in this field order.
    """

    coin: CoinDocument
    listing: Listing
    investment_usd: float
    lambo_price_usd: float
    sell: SellChoice
    coins_bought: float
    sell_price_usd: float
    proceeds_usd: float
    profit_usd: float
    growth_factor: float
    lambos: float
    can_buy_lambo: bool
    breakeven_investment_usd: float
    stale: bool
    verdict: str
    hindsight: Hindsight


def is_stale(as_of: datetime, now: datetime) -> bool:
    """An answer is stale when its newest price is more than three days old."""
    return now - as_of > STALE_AFTER


def verdict(symbol: str, investment_usd: float, proceeds_usd: float, lambos: float, lambo_price_usd: float) -> str:
    """One plain-English sentence summing the answer up."""
    head = f"{usd(investment_usd)} of {symbol} bought at listing would sell for {usd(proceeds_usd)}"
    if lambos >= 2:
        return f"{head}: yes, enough for {int(lambos):,} Lamborghinis."
    if lambos >= 1:
        return f"{head}: yes, enough for a Lamborghini."
    return f"{head}: no Lamborghini, that is {lambos:.2%} of one at {usd(lambo_price_usd)}."


def answer(
    coin: CoinFacts | CoinDocument,
    investment_usd: float,
    now: datetime,
    lambo_price_usd: float = LAMBO_PRICE_USD,
    sell: SellChoice = SellChoice.MEAN,
    listing: Listing | None = None,
) -> LamboAnswer:
    """Buy at the listing price, sell over the last month, count Lamborghinis, and tell the story since listing.

    `listing` buys at another listing (e.g. another exchange's) instead of the
    document's own; that prepares the coin again (a pass over its history), so
    callers answering it often should keep `prepare(doc, listing)`.
    Amounts must already be validated (positive, finite): see common.money.
    """
    if isinstance(coin, CoinDocument):
        coin = prepare(coin, listing)
    elif listing is not None and listing != coin.listing:
        coin = prepare(coin.doc, listing)
    price = coin.sell_prices[sell]
    # The lambo arithmetic, once: every API answers with it.
    listing_price = coin.listing.price_usd
    coins_bought = investment_usd / listing_price
    proceeds = coins_bought * price
    growth = proceeds / investment_usd
    lambos = proceeds / lambo_price_usd
    can_buy = proceeds >= lambo_price_usd
    story = hindsight(coin.records, coins_bought, lambo_price_usd, coin.listing_s, coin.years_held, growth, can_buy)
    return LamboAnswer(
        coin.doc,
        coin.listing,
        investment_usd,
        lambo_price_usd,
        sell,
        coins_bought,
        price,  # sell_price_usd
        proceeds,
        proceeds - investment_usd,  # profit_usd
        growth,
        lambos,
        can_buy,
        lambo_price_usd * listing_price / price,  # breakeven_investment_usd
        now > coin.stale_after,  # is_stale(as_of, now), with as_of + STALE_AFTER added once per coin
        verdict(coin.doc.symbol, investment_usd, proceeds, lambos, lambo_price_usd),
        story,
    )
