"""Domain <-> protobuf, in one place, so common/ never imports generated code."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any, Protocol

from google.protobuf.timestamp_pb2 import Timestamp

from common.document import CoinDocument
from common.errors import InvalidRequest
from common.hindsight import Records
from common.lambo import LAMBO_PRICE_USD, LamboAnswer, SellChoice
from common.listings import ExchangeListing
from common.prices import LastMonth
from delos.v1 import lambo_pb2 as pb

MEAN_CLOSE = pb.SELL_PRICE_MEAN_CLOSE
SELL_CHOICES: dict[int, SellChoice] = {
    pb.SELL_PRICE_UNSPECIFIED: SellChoice.MEAN,
    pb.SELL_PRICE_MEAN_CLOSE: SellChoice.MEAN,
    pb.SELL_PRICE_BEST_CLOSE: SellChoice.BEST,
    pb.SELL_PRICE_WORST_CLOSE: SellChoice.WORST,
    pb.SELL_PRICE_LATEST_CLOSE: SellChoice.LATEST,
}


def sell_choice(value: int) -> SellChoice:
    """The domain's sell choice for a request's enum value; unknown numbers are refused."""
    try:
        return SELL_CHOICES[value]
    except KeyError:
        raise InvalidRequest(f"sell must be one of {', '.join(pb.SellPrice.keys())}, got {value}") from None


def timestamp(value: datetime) -> Timestamp:
    message = Timestamp()
    message.FromDatetime(value)
    return message


def last_month_message(month: LastMonth) -> pb.LastMonth:
    return pb.LastMonth(
        start=timestamp(month.start),
        end=timestamp(month.end),
        mean_close=month.mean_close,
        best_close=month.best_close,
        worst_close=month.worst_close,
        latest_close=month.latest_close,
        candles=month.candles,
        missing_days=month.missing_days,
    )


def listing_message(listing: ExchangeListing) -> pb.ExchangeListing:
    return pb.ExchangeListing(
        exchange=listing.exchange,
        pair=listing.pair,
        quote=listing.quote,
        source=listing.source,
        listing_date=timestamp(listing.listing_date),
        listing_price_usd=listing.listing_price_usd,
        listing_day_volume_usd=listing.listing_day_volume_usd,
    )


def _coin_fields(doc: CoinDocument) -> dict[str, Any]:
    """The fields Coin and AskLamboResponse share, by their common names."""
    return {
        "symbol": doc.symbol,
        "exchange": doc.exchange,
        "pair": doc.pair,
        "listing_date": timestamp(doc.listing.date),
        "listing_price_usd": doc.listing.price_usd,
        "listing_interval_minutes": doc.listing.interval_minutes,
        "last_month": last_month_message(doc.last_month),
        "as_of": timestamp(doc.as_of),
        "computed_at": timestamp(doc.computed_at),
        "sample_data": doc.sample_data,
        "listing_quote": doc.listing_quote,
        "listing_source": doc.listing_source,
        "listing_complete": doc.listing_complete,
        "price_exchange": doc.price_exchange,
        "price_pair": doc.price_pair,
        "listings": [listing_message(x) for x in doc.listings],
    }


def use_listing(response: pb.AskLamboResponse, listing: ExchangeListing) -> None:
    """Make an answer read as if bought at `listing`: its exchange, pair, date and price."""
    response.exchange = listing.exchange
    response.pair = listing.pair
    response.listing_date.CopyFrom(timestamp(listing.listing_date))
    response.listing_price_usd = listing.listing_price_usd
    response.listing_quote = listing.quote
    response.listing_source = listing.source
    response.listing_interval_minutes = 1440


def coin_message(doc: CoinDocument, found: Records) -> pb.Coin:
    """The Coin message for GetCoin, without the per-request `stale` flag."""
    return pb.Coin(
        **_coin_fields(doc),
        listing_may_be_truncated=doc.listing.may_be_truncated,
        peak=pb.PricePoint(time=Timestamp(seconds=found.peak_s), close_usd=found.peak_close),
        history=[
            pb.PricePoint(time=Timestamp(seconds=t), close_usd=c)
            for t, c in zip(doc.history_times, doc.history_closes, strict=True)
        ],
    )


def answer_template(doc: CoinDocument, found: Records) -> pb.AskLamboResponse:
    """The parts of an AskLambo answer that depend only on the coin, built once per document."""
    # With the usual question's sell choice and lambo price, so an answer to it sets neither.
    template = pb.AskLamboResponse(**_coin_fields(doc), sell=MEAN_CLOSE, lambo_price_usd=LAMBO_PRICE_USD)
    template.hindsight.peak_date.seconds = found.peak_s
    template.hindsight.peak_close_usd = found.peak_close
    return template


def answer_message(template: pb.AskLamboResponse, answer: LamboAnswer, sell: pb.SellPrice) -> pb.AskLamboResponse:
    """A copy of the coin's template filled with one answer (`sell` echoes the request's enum value).

    Built on every request: the answer's tuples are unpacked once rather than read field by field,
    and false flags are left unset (proto3 does not send them either way).
    """
    # In LamboAnswer's field order (coin, listing, investment_usd and sell are not sent from here).
    _, _, _, lambo_price, _, coins, price, proceeds, profit, growth, lambos, can_buy, breakeven, stale, said, told = (
        answer
    )
    response = pb.AskLamboResponse()
    response.CopyFrom(template)
    response.coins_bought = coins
    response.sell_price_usd = price
    if sell and sell != MEAN_CLOSE:
        response.sell = sell
    response.proceeds_usd = proceeds
    response.profit_usd = profit
    response.growth_factor = growth
    if lambo_price != LAMBO_PRICE_USD:
        response.lambo_price_usd = lambo_price
    response.lambos = lambos
    if can_buy:
        response.can_buy_lambo = True
    response.breakeven_investment_usd = breakeven
    if stale:
        response.stale = True
    response.verdict = said
    # In Hindsight's field order (the peak's date and close are in the template already).
    first_s, days, lost, _, _, peak_proceeds, peak_lambos, cagr, years_held, story = told
    message = response.hindsight
    if first_s is not None:
        message.first_lambo_date.seconds = first_s
        message.has_first_lambo = True
        message.days_to_first_lambo = days or 0
    if lost:
        message.first_lambo_lost = True
    message.peak_proceeds_usd = peak_proceeds
    message.peak_lambos = peak_lambos
    if cagr is not None:
        message.cagr = cagr
    message.years_held = years_held
    message.story = story
    return response


# What pandas' DataFrame.to_json() wrote for the original API: its default double_precision.
SEED_CHART_DECIMALS = 10
# The original API rounded these answer keys to cents (and left NUMBERCOINS whole).
SEED_ROUNDED_DECIMALS = 2


def graph_data(doc: CoinDocument) -> str:
    """The legacy API's chart, encoded exactly as the original: a JSON string holding pandas' to_json of the frame.

    The original built a DataFrame of columns x (the candle's UTC open, "YYYY-MM-DD HH:MM:SS") and y (its
    close), called `to_json()` (orient "columns": each column maps the row index, as a string, to the value)
    and `json.dumps`-ed that string, so its clients decode twice:
    `json.loads(json.loads(graph_data))` -> {"x": {"0": "2021-03-04 00:00:00", ...}, "y": {"0": 49876.1, ...}}.
    """
    times = {str(i): time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) for i, t in enumerate(doc.history_times)}
    closes = {str(i): round(close, SEED_CHART_DECIMALS) for i, close in enumerate(doc.history_closes)}
    frame_json = json.dumps({"x": times, "y": closes}, separators=(",", ":"))
    return json.dumps(frame_json)


class TradeFigures(Protocol):
    """The figures of an answer the legacy message reads (a LamboAnswer has them)."""

    @property
    def coins_bought(self) -> float: ...
    @property
    def profit_usd(self) -> float: ...
    @property
    def growth_factor(self) -> float: ...
    @property
    def lambos(self) -> float: ...


def legacy_message(done: TradeFigures, investment: int, symbol: str, generated_at: datetime) -> str:
    """The legacy API's `message`: the original's keys and rounding (PROFIT, GROWTHFACTOR, LAMBOS to cents).

    The typed API keeps full precision; old front ends print these as they come. Only the trade's
    arithmetic is read.
    """
    return json.dumps(
        {
            "NUMBERCOINS": done.coins_bought,
            "PROFIT": round(done.profit_usd, SEED_ROUNDED_DECIMALS),
            "GROWTHFACTOR": round(done.growth_factor, SEED_ROUNDED_DECIMALS),
            "LAMBOS": round(done.lambos, SEED_ROUNDED_DECIMALS),
            "INVESTMENT": investment,
            "SYMBOL": symbol,
            "GENERATIONDATE": generated_at.isoformat(timespec="seconds"),
        }
    )
