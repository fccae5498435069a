"""The lambo question, answered from a cached document: pure arithmetic, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from common.document import CoinDocument
from common.prices import LastMonth

LAMBO_PRICE_USD = 200_000.0
STALE_AFTER = timedelta(days=3)


class SellChoice(enum.Enum):
    """Which last-month close the coins are sold at."""

    MEAN = "mean"
    BEST = "best"
    WORST = "worst"
    LATEST = "latest"


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
class Trade:
    """Buying at the listing price and selling at `sell_price_usd`; all amounts in USD."""

    coins_bought: float
    proceeds_usd: float
    profit_usd: float
    growth_factor: float
    lambos: float
    can_buy_lambo: bool
    breakeven_investment_usd: float


def trade(listing_price_usd: float, sell_price_usd: float, investment_usd: float, lambo_price_usd: float) -> Trade:
    """The lambo arithmetic, once: every API answers with it.

    Amounts must already be validated (positive, finite): see common.money.
    """
    coins_bought = investment_usd / listing_price_usd
    proceeds = coins_bought * sell_price_usd
    return Trade(
        coins_bought=coins_bought,
        proceeds_usd=proceeds,
        profit_usd=proceeds - investment_usd,
        growth_factor=proceeds / investment_usd,
        lambos=proceeds / lambo_price_usd,
        can_buy_lambo=proceeds >= lambo_price_usd,
        breakeven_investment_usd=lambo_price_usd * listing_price_usd / sell_price_usd,
    )


@dataclass(frozen=True, slots=True)
class LamboAnswer:
    """The answer to one question; all amounts in USD."""

    coin: CoinDocument
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


def is_stale(as_of: datetime, now: datetime) -> bool:
    """An answer is stale when its newest price is more than three days old."""
    return now - as_of > STALE_AFTER


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount < 100 else f"${amount:,.0f}"


def verdict(symbol: str, investment_usd: float, proceeds_usd: float, lambos: float, lambo_price_usd: float) -> str:
    """One plain-English sentence summing the answer up."""
    head = f"{_usd(investment_usd)} of {symbol} bought at listing would sell for {_usd(proceeds_usd)}"
    if lambos >= 2:
        return f"{head}: yes, enough for {int(lambos):,} Lamborghinis."
    if lambos >= 1:
        return f"{head}: yes, enough for a Lamborghini."
    return f"{head}: no Lamborghini, that is {lambos:.2%} of one at {_usd(lambo_price_usd)}."


def ask(
    coin: CoinDocument,
    investment_usd: float,
    now: datetime,
    lambo_price_usd: float = LAMBO_PRICE_USD,
    sell: SellChoice = SellChoice.MEAN,
) -> LamboAnswer:
    """Buy at the listing price, sell over the last month, count Lamborghinis.

    Amounts must already be validated (positive, finite): see common.money.
    """
    price = sell_price(coin.last_month, sell)
    done = trade(coin.listing.price_usd, price, investment_usd, lambo_price_usd)
    return LamboAnswer(
        coin=coin,
        investment_usd=investment_usd,
        lambo_price_usd=lambo_price_usd,
        sell=sell,
        coins_bought=done.coins_bought,
        sell_price_usd=price,
        proceeds_usd=done.proceeds_usd,
        profit_usd=done.profit_usd,
        growth_factor=done.growth_factor,
        lambos=done.lambos,
        can_buy_lambo=done.can_buy_lambo,
        breakeven_investment_usd=done.breakeven_investment_usd,
        stale=is_stale(coin.as_of, now),
        verdict=verdict(coin.symbol, investment_usd, done.proceeds_usd, done.lambos, lambo_price_usd),
    )
