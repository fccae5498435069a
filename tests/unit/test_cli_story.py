"""`delos ask`'s human answer: the story, the hindsight lines and the marked chart."""

from __future__ import annotations

from datetime import UTC, datetime

from cli import chart
from cli.ask import describe
from common.coin import build_document
from common.lambo import answer
from delos.v1 import lambo_pb2 as pb
from query_service import convert
from query_service.cache import PreparedCoin
from tests.unit.fakes import coin_series

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
LISTED = datetime(2021, 3, 4, tzinfo=UTC)


def described(lambo_price: float) -> str:
    candles = coin_series(LISTED, NOW, 100.0, 0.004)
    doc = build_document(
        symbol="BTC", exchange="kraken", pair="XBTUSD", weekly=candles[10080], daily=candles[1440], now=NOW
    )
    coin = PreparedCoin(doc)
    told = answer(coin.facts, 1000.0, NOW, lambo_price_usd=lambo_price)
    return describe(convert.answer_message(coin.template, told, pb.SELL_PRICE_MEAN_CLOSE), coin.coin)


def test_the_answer_tells_the_story_and_marks_listing_first_lambo_and_peak_on_the_chart() -> None:
    text = described(200_000.0)

    assert "You would have had your first Lamborghini on 2024-" in text
    assert "first Lamborghini: 2024-" in text and "a year over 5.7 years" in text
    lines = text.splitlines()
    legend = lines[-1]
    assert legend.startswith("L listing 2021-03-04   F first lambo 2024-") and "P peak 2026-11-19" in legend
    marks = lines[-3]
    assert marks.startswith("L") and marks.endswith("P") and marks.index("F") > 0


def test_a_lambo_never_reached_says_so_and_marks_no_first_lambo_day() -> None:
    text = described(1e12)

    assert "first Lamborghini: never, at this lambo price" in text and "It never reached a Lamborghini" in text
    assert "F first lambo" not in text and "F" not in text.splitlines()[-3]


def test_a_mark_goes_under_the_column_of_the_last_close_at_or_before_its_day() -> None:
    times = [0, 10, 20, 30]

    drawn = chart.render(times, [1.0, 2.0, 3.0, 4.0], width=4, marks=[("X", "x", 25)])

    assert drawn.splitlines()[-3] == "  X"
