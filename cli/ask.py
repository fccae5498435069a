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
    return f"${amount:,.2f}" if abs(amount) < 1000 else f"${amount:,.0f}"


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
    listed = answer.listing_date.ToDatetime().date().isoformat()
    month_end = month.end.ToDatetime().date().isoformat()
    sold_at = pb.SellPrice.Name(answer.sell).removeprefix("SELL_PRICE_").replace("_", " ").lower()
    sample = "  [SAMPLE DATA, not live prices]" if answer.sample_data else ""
    lines = [
        f"{answer.symbol} on {answer.exchange} ({answer.pair}){sample}",
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
            f"{answer.symbol} weekly close, log scale:",
            chart.render(times, closes, marks=chart_marks(answer)),
        ]
    return "\n".join(lines)


def ask(target: str, symbol: str, invest: float, lambo_price: float | None, sell: str, as_json: bool) -> int:
    """Ask and print; exit status 0 on an answer, 1 with one plain line otherwise."""
    request = pb.AskLamboRequest(symbol=symbol, investment_usd=invest, sell=SELL[sell])
    if lambo_price is not None:
        request.lambo_price_usd = lambo_price
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
