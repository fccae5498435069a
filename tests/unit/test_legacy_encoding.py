"""The legacy API's answer, byte for byte as the original encoded it (pandas' to_json, json.dumps, rounding)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from query_service import convert
from tests.factories import make_document

WEEK = timedelta(weeks=1)
LISTED = datetime(2021, 3, 4, tzinfo=UTC)


def charted(*closes: float) -> str:
    """The legacy chart of a coin whose weekly closes, from 2021-03-04 00:00 UTC on, are `closes`."""
    times = [int((LISTED + WEEK * i).timestamp()) for i in range(len(closes))]
    return convert.graph_data(replace(make_document(), history_times=times, history_closes=list(closes)))


def test_graph_data_is_the_json_string_of_pandas_to_json_of_the_x_and_y_columns() -> None:
    # What the original sent for this chart: json.dumps(DataFrame({"x": [...], "y": [...]}).to_json()),
    # produced with pandas (orient "columns", 10 decimals), kept here as the wire format to match.
    seed = (
        '"{\\"x\\":{\\"0\\":\\"2021-03-04 00:00:00\\",\\"1\\":\\"2021-03-11 00:00:00\\",'
        '\\"2\\":\\"2021-03-18 00:00:00\\"},'
        '\\"y\\":{\\"0\\":49876.1,\\"1\\":0.0723,\\"2\\":0.123456789}}"'
    )
    assert charted(49876.1, 0.0723, 0.123456789012) == seed


def test_a_client_of_the_original_decodes_the_chart_twice_into_columns() -> None:
    graph = json.loads(json.loads(charted(1.5, 2.25)))

    assert graph == {"x": {"0": "2021-03-04 00:00:00", "1": "2021-03-11 00:00:00"}, "y": {"0": 1.5, "1": 2.25}}


class Figures(NamedTuple):
    coins_bought: float
    profit_usd: float
    growth_factor: float
    lambos: float


def test_the_legacy_message_rounds_profit_growth_and_lambos_to_cents_and_keeps_coins_whole() -> None:
    coins = 1000 / 0.07
    proceeds = coins * 1234.5678
    done = Figures(coins, proceeds - 1000, proceeds / 1000, proceeds / 200_000)
    generated_at = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)

    message = json.loads(convert.legacy_message(done, 1000, "ETH", generated_at))

    assert message == {
        "NUMBERCOINS": 14285.714285714284,  # 1000 / 0.07, unrounded as the original sent it
        "PROFIT": 17635682.86,
        "GROWTHFACTOR": 17636.68,
        "LAMBOS": 88.18,
        "INVESTMENT": 1000,
        "SYMBOL": "ETH",
        "GENERATIONDATE": "2026-12-02T07:30:00+00:00",
    }
