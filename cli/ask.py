"""`delos ask`: one question to a running query service, answered for humans or as JSON."""

from __future__ import annotations

import sys

import grpc
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from cli import chart
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc

SELL = {
    "mean": pb.SELL_PRICE_MEAN_CLOSE,
    "best": pb.SELL_PRICE_BEST_CLOSE,
    "worst": pb.SELL_PRICE_WORST_CLOSE,
    "latest": pb.SELL_PRICE_LATEST_CLOSE,
}
TIMEOUT_S = 10.0


def _usd(amount: float) -> str:
    if 0 < abs(amount) < 0.1:  # early listings: $0.003 must not read as $0.00
        return f"${amount:.2g}"
    return f"${amount:,.2f}" if abs(amount) < 1000 else f"${amount:,.0f}"


def provenance(answer: pb.AskLamboResponse) -> list[str]:
    """Where the listing came from, and every exchange's first day in a short table."""
    state = "final" if answer.listing_complete else "provisional: some exchange has not answered yet"
    source = "from the archive shipped with Delos" if answer.listing_source == "archive" else "from its API"
    quote = f", {answer.listing_quote} at par with USD" if answer.listing_quote not in ("", "USD") else ""
    lines = [f"  listing: {answer.exchange} {answer.pair} ({source}{quote}), {state}"]
    if answer.price_exchange:
        lines.append(f"  last month's prices: {answer.price_exchange} {answer.price_pair}")
    if len(answer.listings) > 1:
        lines.append(f"  {'first day on':<14}{'date':<12}{'price':>14}{'volume':>16}")
        for x in answer.listings:
            volume = _usd(x.listing_day_volume_usd) if x.listing_day_volume_usd > 0 else "unknown"
            lines.append(f"  {x.exchange:<14}{_date(x.listing_date):<12}{_usd(x.listing_price_usd):>14}{volume:>16}")
    return lines


def _date(stamp: Timestamp) -> str:
    return stamp.ToDatetime().date().isoformat()


def hindsight_lines(answer: pb.AskLamboResponse) -> list[str]:
    """The hindsight facts, one a line: first lambo, peak, growth per year."""
    told = answer.hindsight
    if told.has_first_lambo:
        lost = ", lost since" if told.first_lambo_lost else ""
        first = f"{_date(told.first_lambo_date)}, {told.days_to_first_lambo:,} days after listing{lost}"
    else:
        first = "never, at this lambo price"
    growth = (
        f"{told.cagr:+,.1%} a year over {told.years_held:.1f} years"
        if told.HasField("cagr")
        else f"not annualised: held {told.years_held * 365.25:.0f} days, under a month"
    )
    return [
        f"  first Lamborghini: {first}",
        f"  peak: {_date(told.peak_date)} at {_usd(told.peak_close_usd)}: {_usd(told.peak_proceeds_usd)},"
        f" {told.peak_lambos:,.4g} Lamborghinis",
        f"  growth: {growth}",
    ]


def chart_marks(answer: pb.AskLamboResponse) -> list[tuple[str, str, int]]:
    """The days the chart marks: the listing, the first lambo (if any) and the peak."""
    marks = [("L", "listing", answer.listing_date.seconds)]
    if answer.hindsight.has_first_lambo:
        marks.append(("F", "first lambo", answer.hindsight.first_lambo_date.seconds))
    marks.append(("P", "peak", answer.hindsight.peak_date.seconds))
    return marks


def describe(answer: pb.AskLamboResponse, coin: pb.Coin | None) -> str:
    """The friendly, human answer, with a chart of the coin's history when available."""
    month = answer.last_month
    listed = _date(answer.listing_date)
    month_end = month.end.ToDatetime().date().isoformat()
    sold_at = pb.SellPrice.Name(answer.sell).removeprefix("SELL_PRICE_").replace("_", " ").lower()
    sample = "  [SAMPLE DATA, not live prices]" if answer.sample_data else ""
    lines = [
        f"{answer.symbol} on {answer.exchange} ({answer.pair}){sample}",
        *provenance(answer),
        f"  bought at listing, {listed}, at {_usd(answer.listing_price_usd)}: {answer.coins_bought:,.6g} coins",
        f"  sold at the last month's {sold_at} of {_usd(answer.sell_price_usd)}"
        f" ({month.candles} daily closes to {month_end})",
        f"  proceeds {_usd(answer.proceeds_usd)}, profit {_usd(answer.profit_usd)}, x{answer.growth_factor:,.4g}",
        f"  Lamborghinis: {answer.lambos:,.4g} at {_usd(answer.lambo_price_usd)} each"
        f" (one needed {_usd(answer.breakeven_investment_usd)} at listing)",
        *hindsight_lines(answer),
        "",
        f"{'YES' if answer.can_buy_lambo else 'NO'}: {answer.verdict}",
        f"{' ' * (5 if answer.can_buy_lambo else 4)}{answer.hindsight.story}",
    ]
    if answer.stale:
        lines.append("  (stale: the newest price is more than 3 days old or the store is unreachable)")
    if coin is not None and len(coin.history) > 1:
        times = [p.time.seconds for p in coin.history]
        closes = [p.close_usd for p in coin.history]
        lines += [
            "",
            f"{answer.symbol} close, log scale:",
            chart.render(times, closes, marks=chart_marks(answer)),
        ]
    return "\n".join(lines)


def ask(
    target: str,
    symbol: str,
    invest: float,
    lambo_price: float | None,
    sell: str,
    as_json: bool,
    exchange: str | None = None,
) -> int:
    """Ask and print; exit status 0 on an answer, 1 with one plain line otherwise."""
    request = pb.AskLamboRequest(symbol=symbol, investment_usd=invest, sell=SELL[sell])
    if lambo_price is not None:
        request.lambo_price_usd = lambo_price
    if exchange is not None:
        request.exchange = exchange
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.LamboServiceStub(channel)
        try:
            answer = stub.AskLambo(request, timeout=TIMEOUT_S)
            coin = None if as_json else stub.GetCoin(pb.GetCoinRequest(symbol=symbol), timeout=TIMEOUT_S)
        except grpc.RpcError as exc:
            code = exc.code()
            if code is grpc.StatusCode.UNAVAILABLE:
                print(
                    f"delos ask: the query service at {target} is unavailable ({exc.details()}); "
                    "is `delos serve` or `delos run` running?",
                    file=sys.stderr,
                )
            else:
                print(f"delos ask: {code.name}: {exc.details()}", file=sys.stderr)
            return 1
    if as_json:
        print(json_format.MessageToJson(answer))
    else:
        print(describe(answer, coin))
    return 0
