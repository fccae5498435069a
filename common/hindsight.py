"""Hindsight: when one lambo was first affordable, the peak, and the growth per year. Pure; no clock reads.

The series is the coin's closes on or after its listing date: the stored
history before the last month, then the last month's daily closes (so the
peak is never below a last-month sell price). Per coin, `records` keeps the
running maximum only where it rises: strictly increasing closes and, parallel
to them, the time each was reached. The first day worth one lambo is the first
record worth one, because any earlier day closed lower; so each question is
one `bisect` over the records, never a scan of the history.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from common.money import usd

DAY_S = 86_400
UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
YEAR_S = 365.25 * DAY_S
# Annualising a few days' move prints absurd rates (x2 in a week is +4e15 % a year): below this, no cagr.
MIN_CAGR_HOLD_S = 30 * DAY_S


@dataclass(frozen=True, slots=True)
class Records:
    """The series' running maximum where it rises: `maxima` strictly increasing, `times_s` (unix s) parallel.

    The peak (the last record) is kept in fields of its own, read by every answer without indexing.
    """

    maxima: array[float]
    times_s: array[int]
    peak_close: float
    peak_s: int
    peak_day: str


def day(unix_s: int) -> str:
    """The ISO calendar date (UTC) of unix seconds (by day count: a third of strftime's cost per answer)."""
    return date.fromordinal(UNIX_EPOCH_ORDINAL + unix_s // DAY_S).isoformat()


def records(points: Iterable[tuple[int, float]], listing_s: int, listing_price_usd: float) -> Records:
    """The running-maximum records of the points on or after `listing_s` (points in time order).

    With no point on or after the listing, the listing itself is the only one:
    the peak is then the listing price on the listing date.
    """
    pairs = list(points)
    return records_of(
        array("q", [t for t, _ in pairs]), array("d", [c for _, c in pairs]), listing_s, listing_price_usd
    )


def records_of(times_s: array[int], closes: array[float], listing_s: int, listing_price_usd: float) -> Records:
    """records() over parallel arrays (times increasing): what a cache load runs for each coin.

    The points before the listing are skipped with one bisect; the running maximum is numpy's, over
    the arrays' own memory (no copy): a thousand coins of thousands of days each at every cold start,
    where a Python loop cost most of the start. A record is a close above every close before it
    (NaN closes are never records and never raise the maximum: fmax skips them).
    """
    # Imported here, not with the module: the worker and the operator commands import this module
    # (through common.lambo's staleness rule) but never compute records, and numpy costs 0.1 s to import.
    import numpy as np  # pylint: disable=import-outside-toplevel

    start = bisect_left(times_s, listing_s)
    series = np.frombuffer(closes, dtype=np.float64)[start:]
    maxima: array[float] = array("d")
    reached: array[int] = array("q")
    if len(series):
        # before[i]: the highest close before day i (-inf for the first day, and while all were NaN).
        before = np.fmax.accumulate(np.concatenate(([-np.inf], series[:-1])))
        rises = series > before
        maxima.frombytes(series[rises].tobytes())
        reached.frombytes(np.frombuffer(times_s, dtype=np.int64)[start:][rises].tobytes())
    if not maxima:
        maxima.append(listing_price_usd)
        reached.append(listing_s)
    return Records(maxima, reached, maxima[-1], reached[-1], day(reached[-1]))


def first_reaching(found: Records, coins: float, lambo_price_usd: float) -> int | None:
    """Index of the first record with `coins * close >= lambo_price_usd`, or None if none is.

    The threshold `lambo_price_usd / coins` is rounded, so its bisect can land one
    off; the two loops then move it to where the exact definition flips (the
    product is monotone in the close, so it flips once).
    """
    maxima = found.maxima
    i = bisect_left(maxima, lambo_price_usd / coins)
    while i > 0 and coins * maxima[i - 1] >= lambo_price_usd:
        i -= 1
    while i < len(maxima) and coins * maxima[i] < lambo_price_usd:
        i += 1
    return i if i < len(maxima) else None


def years_between(listing_s: int, as_of_s: float) -> float:
    """Years from the listing to the newest price (never negative): how long the position was held."""
    return max(0.0, as_of_s - listing_s) / YEAR_S


def cagr(growth_factor: float, years_held: float) -> float | None:
    """Compound annual growth rate, a fraction; None when held under 30 days (too short to annualise)."""
    if years_held * YEAR_S < MIN_CAGR_HOLD_S:
        return None
    try:
        return float(growth_factor ** (1.0 / years_held) - 1.0)
    except OverflowError:
        return float("inf")


class Hindsight(NamedTuple):
    """The story of a position bought at listing; times in unix seconds, amounts in USD.

    `first_lambo_lost`: one lambo was reached on some day, and the answer's sale
    (at its sell price) would not buy one: the position fell back below it.
    A NamedTuple, not a frozen dataclass: one is built per answer (see LamboAnswer).
    """

    first_lambo_s: int | None
    days_to_first_lambo: int | None
    first_lambo_lost: bool
    peak_s: int
    peak_close_usd: float
    peak_proceeds_usd: float
    peak_lambos: float
    cagr: float | None
    years_held: float
    story: str


def hindsight(
    found: Records,
    coins_bought: float,
    lambo_price_usd: float,
    listing_s: int,
    years_held: float,
    growth_factor: float,
    can_buy_lambo: bool,
) -> Hindsight:
    """Arithmetic and one bisect over precomputed records: what the position did since listing.

    `years_held` (see `years_between`) depends only on the coin, so callers compute it once per coin.
    """
    first = first_reaching(found, coins_bought, lambo_price_usd)
    first_s = None if first is None else found.times_s[first]
    days = None if first_s is None else (first_s - listing_s) // DAY_S
    peak_proceeds = coins_bought * found.peak_close
    peak_lambos = peak_proceeds / lambo_price_usd
    lost = first_s is not None and not can_buy_lambo
    return Hindsight(  # positionally, in field order: keywords cost a NamedTuple three times as much
        first_s,  # first_lambo_s
        days,  # days_to_first_lambo
        lost,  # first_lambo_lost
        found.peak_s,
        found.peak_close,  # peak_close_usd
        peak_proceeds,
        peak_lambos,
        cagr(growth_factor, years_held),
        years_held,
        story(first_s, days, lost, found.peak_day, peak_proceeds, peak_lambos),
    )


def _after(days: int) -> str:
    if days == 0:
        return "the day you bought"
    if days < 60:
        return f"{days} day{'s' if days > 1 else ''} after buying"
    if days < 730:
        return f"{days // 30} months after buying"
    return f"{int(days / 365.25)} years after buying"


def story(
    first_s: int | None, days: int | None, lost: bool, peak_day: str, peak_proceeds: float, peak_lambos: float
) -> str:
    """The second verdict: when the first lambo came, what the peak was worth, and whether it slipped away."""
    if first_s is None or days is None:
        return (
            f"It never reached a Lamborghini: at its peak on {peak_day} it was worth {usd(peak_proceeds)}, "
            f"{peak_lambos:.2%} of one."
        )
    at_peak = f"{int(peak_lambos):,} of them" if peak_lambos >= 2 else "one"
    tail = "; it has since fallen below one: that was the time to sell." if lost else "."
    return (
        f"You would have had your first Lamborghini on {day(first_s)}, {_after(days)}; "
        f"at the peak on {peak_day} it was {at_peak}{tail}"
    )
