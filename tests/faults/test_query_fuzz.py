"""Every RPC's inputs, fuzzed: only OK, INVALID_ARGUMENT or NOT_FOUND come back, and no user text becomes a key.

One in-process query service per module, fed by a real SQLite store through a recording wrapper.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.sqlite_store import SQLiteCoinStore
from common.document import CoinDocument
from common.ports import Subscription
from delos.legacy import api_pb2, api_pb2_grpc
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from tests.faults.helpers import InProcessServer, seed_store

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

SEEDED = ("BTC", "ETH")
ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class RecordingFeed:
    """The real store as the service's feed, recording every call made to it."""

    def __init__(self, store: SQLiteCoinStore) -> None:
        self.store = store
        self.calls: list[str] = []

    def load_all(self) -> list[CoinDocument]:
        self.calls.append("load_all")
        return self.store.load_all()

    def watch(self, on_change: Callable[[list[CoinDocument]], None], on_health: Callable[[bool], None]) -> Subscription:
        self.calls.append("watch")
        return self.store.watch(on_change, on_health)

    def follow(
        self, on_change: Callable[[list[CoinDocument]], None], on_health: Callable[[bool], None], timeout_s: float
    ) -> tuple[list[CoinDocument], Subscription]:
        self.calls.append("follow")
        return self.store.follow(on_change, on_health, timeout_s)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[grpc.Channel, RecordingFeed, Path]]:
    db = tmp_path_factory.mktemp("fuzz") / "coins.sqlite3"
    seed_store(db, SEEDED)
    store = SQLiteCoinStore(db, poll_interval_s=0.1)
    feed = RecordingFeed(store)
    server = InProcessServer(feed=feed)
    channel = grpc.insecure_channel(server.target)
    yield channel, feed, db
    channel.close()
    server.close()
    store.close()


def outcome(call: Callable[[], Any]) -> tuple[grpc.StatusCode, Any]:
    try:
        return grpc.StatusCode.OK, call()
    except grpc.RpcError as exc:
        return exc.code(), exc.details()


symbols = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["BTC", "btc", " eth ", "BTC/USD", "../BTC", "..", "/", "BTC\x00", "\x00", "ſol", "ＢＴＣ", "🚀"]),
    st.builds(lambda n: "A" * n, st.integers(min_value=13, max_value=1024 * 1024)),
    st.builds(lambda a, b: a + b, st.sampled_from(["BTC", "..", "/"]), st.text(max_size=8)),
)
amounts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 1e12, 1e12 + 1, 1e300, 5e-324, 1000.0]),
)


@FUZZ
@given(
    symbol=symbols,
    investment=amounts,
    lambo_price=st.none() | amounts,
    sell=st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
def test_ask_lambo_answers_only_ok_invalid_or_not_found(
    served: tuple[grpc.Channel, RecordingFeed, Path],
    symbol: str,
    investment: float,
    lambo_price: float | None,
    sell: int,
) -> None:
    channel, _, _ = served
    request = pb.AskLamboRequest(symbol=symbol, investment_usd=investment, sell=sell)  # type: ignore[arg-type]
    if lambo_price is not None:
        request.lambo_price_usd = lambo_price
    code, answer = outcome(lambda: pb_grpc.LamboServiceStub(channel).AskLambo(request, timeout=10))
    assert code in ALLOWED, (code, answer)
    valid_amount = math.isfinite(investment) and 0 < investment <= 1e12
    if not valid_amount and symbol.strip().upper() in SEEDED:
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert "investment_usd" in answer, answer
    if code is grpc.StatusCode.OK:
        assert answer.symbol in SEEDED and valid_amount
        assert all(math.isfinite(v) for v in (answer.coins_bought, answer.proceeds_usd, answer.lambos))
    else:
        assert len(answer) < 300  # a clear message, never an echo of a megabyte


@FUZZ
@given(symbol=symbols)
def test_get_coin_answers_only_ok_invalid_or_not_found(
    served: tuple[grpc.Channel, RecordingFeed, Path], symbol: str
) -> None:
    channel, _, _ = served
    code, answer = outcome(
        lambda: pb_grpc.LamboServiceStub(channel).GetCoin(pb.GetCoinRequest(symbol=symbol), timeout=10)
    )
    assert code in ALLOWED, (code, answer)
    if code is grpc.StatusCode.OK:
        assert answer.symbol in SEEDED


@FUZZ
@given(symbol=symbols, investment=st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_legacy_process_request_answers_only_ok_invalid_or_not_found(
    served: tuple[grpc.Channel, RecordingFeed, Path], symbol: str, investment: int
) -> None:
    channel, _, _ = served
    request = api_pb2.apiRequest(symbol=symbol, investment=investment)
    code, answer = outcome(lambda: api_pb2_grpc.APIStub(channel).processRequest(request, timeout=10))
    assert code in ALLOWED, (code, answer)
    if code is grpc.StatusCode.OK:
        assert investment > 0
    elif investment <= 0 and symbol.strip().upper() in SEEDED:
        assert code is grpc.StatusCode.INVALID_ARGUMENT and "investment" in answer


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=64))
def test_list_coins_refuses_unparsable_bytes_cleanly(
    served: tuple[grpc.Channel, RecordingFeed, Path], garbage: bytes
) -> None:
    channel, _, _ = served
    list_coins = channel.unary_unary(
        "/delos.v1.LamboService/ListCoins",
        request_serializer=lambda raw: raw,
        response_deserializer=pb.ListCoinsResponse.FromString,
    )
    # Arbitrary bytes as the request: the list (unknown fields are ignored) or INVALID_ARGUMENT, nothing else.
    code, answer = outcome(lambda: list_coins(garbage, timeout=10))
    assert code in ALLOWED, (code, answer)
    if code is grpc.StatusCode.OK:
        assert [c.symbol for c in answer.coins] == sorted(SEEDED)
    else:
        assert code is grpc.StatusCode.INVALID_ARGUMENT and "not a valid ListCoinsRequest" in answer


def test_no_user_text_ever_reached_the_store(served: tuple[grpc.Channel, RecordingFeed, Path]) -> None:
    """Runs after the fuzzing above (file order): the store saw one load-and-follow, and holds only its own keys."""
    _, feed, db = served
    assert feed.calls == ["follow"]
    with closing(sqlite3.connect(db)) as connection:
        keys = [row[0] for row in connection.execute("SELECT symbol FROM coins ORDER BY symbol")]
        statuses = connection.execute("SELECT COUNT(*) FROM refresh_status WHERE ok = 0").fetchone()[0]
    assert keys == sorted(SEEDED) and statuses == 0
