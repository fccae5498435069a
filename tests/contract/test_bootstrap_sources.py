"""bootstrap.price_sources over the bundled sample exchanges: DELOS_EXCHANGES order, one client and throttle each."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import bootstrap
from cli.offline import sample_exchange
from common.errors import DelosError, ExchangeUnavailable
from common.settings import Settings
from fake_exchange import Fault, sample_market
from fake_exchange.bitfinex_server import FakeBitfinex
from fake_exchange.bitstamp_server import FakeBitstamp
from fake_exchange.registry import FAKES
from tests.contract.exchange_cases import standalone_fake


@pytest.fixture(scope="module")
def urls() -> Iterator[Mapping[str, str]]:
    with sample_exchange() as served:
        yield served


def _env(urls: Mapping[str, str], exchanges: str) -> dict[str, str]:
    env = {f"DELOS_{name.upper()}_URL": url for name, url in urls.items()}
    # No archive: these tests are about the live exchanges alone (the shipped archive is on by default).
    return env | {"DELOS_EXCHANGES": exchanges, "DELOS_MAX_RETRIES": "0", "DELOS_ARCHIVE_DIR": ""}


def test_the_sample_serves_one_market_at_every_exchange_it_has_a_fake_for(urls: Mapping[str, str]) -> None:
    assert set(urls) == set(FAKES)
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values())


def test_sources_come_in_delos_exchanges_order_each_at_its_own_url(urls: Mapping[str, str]) -> None:
    order = ["bitfinex", "binance", "kraken", "coinbase", "bitstamp"]
    settings = Settings.from_env(_env(urls, ",".join(order)) | {"DELOS_REQUEST_INTERVAL": "0"})
    sources = bootstrap.price_sources(settings)
    try:
        assert [s.name for s in sources] == order
        first_days = {s.name: s.first_day(s.pair_for("BTC")).day for s in sources}
    finally:
        for source in sources:
            source.close()
    # The sample market lists BTC on Bitstamp first, as the real exchanges did.
    assert first_days["bitstamp"] == datetime(2011, 9, 13, tzinfo=UTC)
    assert first_days["bitstamp"] < first_days["bitfinex"] < first_days["kraken"] < first_days["coinbase"]
    assert first_days["coinbase"] < first_days["binance"] == datetime(2017, 8, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    ("exchange", "interval"),
    [("kraken", 1.0), ("bitstamp", 0.075), ("bitfinex", 2.0), ("coinbase", 0.1), ("binance", 0.05)],
)
def test_each_exchange_keeps_its_published_spacing(urls: Mapping[str, str], exchange: str, interval: float) -> None:
    waits: list[float] = []
    (source,) = bootstrap.price_sources(Settings.from_env(_env(urls, exchange)), sleep=waits.append)
    try:
        source.pairs()
        source.pair_for("ETH")  # cached: no request, no wait
        # Recent enough for one candle request everywhere (Coinbase walks back 300 days a call).
        source.daily(source.pair_for("ETH"), datetime.now(UTC) - timedelta(days=30))
    finally:
        source.close()
    assert all(0 < wait <= interval for wait in waits)
    if interval >= 0.5:  # a loopback round trip cannot take that long: the second request waited its turn
        assert len(waits) == 1 and waits[0] > interval * 0.5


def test_one_exchange_can_be_built_alone_at_another_url(urls: Mapping[str, str]) -> None:
    settings = Settings(exchange_urls={**Settings().exchange_urls, "kraken": urls["kraken"]})
    source = bootstrap.live_source(settings, "kraken")
    try:
        assert source.name == "kraken" and source.pair_for("BTC").name == "XXBTZUSD"
    finally:
        source.close()


@pytest.mark.timeout(60)
def test_any_fake_runs_standalone_at_its_published_limit() -> None:
    with standalone_fake("--exchange", "bitfinex", "--enforce-rate-limit") as url:
        (pairs,) = httpx.get(f"{url}/v2/conf/pub:list:pair:exchange", timeout=10).json()
        assert "BTCUSD" in pairs


@pytest.mark.timeout(30)
def test_a_hanging_exchange_never_slows_another() -> None:
    market = sample_market(datetime.now(UTC))
    with FakeBitfinex(market, hang_s=10.0) as stuck, FakeBitstamp(market) as quick:
        env = {"DELOS_BITFINEX_URL": stuck.base_url, "DELOS_BITSTAMP_URL": quick.base_url}
        env |= {"DELOS_HTTP_TIMEOUT": "5", "DELOS_MAX_RETRIES": "0", "DELOS_ARCHIVE_DIR": ""}
        slow, fast = bootstrap.price_sources(Settings.from_env(env | {"DELOS_EXCHANGES": "bitfinex,bitstamp"}))
        stuck.inject(Fault.HANG, times=10)
        outcome: list[BaseException] = []

        def blocked() -> None:
            try:
                slow.pairs()
            except DelosError as exc:
                outcome.append(exc)

        worker = threading.Thread(target=blocked, daemon=True)
        worker.start()
        started = time.monotonic()
        first = fast.first_day(fast.pair_for("BTC"))  # its own client and throttle: no waiting on Bitfinex
        elapsed = time.monotonic() - started
        assert worker.is_alive()
        stuck.stop()
        worker.join(timeout=20)
        slow.close()
        fast.close()
    assert first.day == datetime(2011, 9, 13, tzinfo=UTC)
    assert elapsed < 2.5
    assert len(outcome) == 1 and isinstance(outcome[0], ExchangeUnavailable)
