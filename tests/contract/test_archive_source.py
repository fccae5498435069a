"""ArchivePriceSource on the shipped archive: the PriceSource promise, the sources' facts and their traps.

Expected figures come from a small reference parse of the raw CSV rows here (csv module,
plain sums), independent of the adapter's code; only the dates the sources state as facts
are written out.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import bootstrap
from backends.archive import ArchivePriceSource
from common.archive_pairs import archived_market
from common.candles import DAILY_MINUTES, complete
from common.errors import UnknownSymbol
from common.exchanges import ARCHIVED_MARKETS
from common.ports import Pair, PriceSource
from common.settings import DEFAULT_ARCHIVE_DIR, Settings

ARCHIVE_DIR = Path(__file__).resolve().parents[2] / "archive"
MTGOX_FILE = ARCHIVE_DIR / "mtgox" / "BTC-USD-1d.csv"
BCM_FILE = ARCHIVE_DIR / "bitcoinmarket" / "BTC-USD-trades.csv"
# Facts stated by the sources (archive/SOURCES.md) and by the issue.
BCM_FIRST_DAY = date(2010, 4, 25)
MTGOX_FIRST_DAY = date(2010, 7, 17)
MTGOX_LAST_DAY = date(2014, 2, 25)
MTGOX_HALT = [date(2011, 6, 20) + timedelta(days=n) for n in range(6)]


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- reference parse: the raw rows, read as plainly as possible ----------------------------------


def mtgox_rows() -> dict[date, dict[str, float]]:
    """Every Mt. Gox row by date, zero rows included."""
    with MTGOX_FILE.open(newline="") as handle:
        return {date.fromisoformat(r.pop("Date")): {k: float(v) for k, v in r.items()} for r in csv.DictReader(handle)}


def bcm_lines() -> list[str]:
    return BCM_FILE.read_text().splitlines()


def bcm_days() -> dict[date, list[tuple[int, float, float]]]:
    """Distinct trades by UTC day, each day's trades in (time, price, amount) order."""
    days: dict[date, list[tuple[int, float, float]]] = defaultdict(list)
    for line in set(bcm_lines()):
        unix, price, amount = line.split(",")
        days[datetime.fromtimestamp(int(unix), UTC).date()].append((int(unix), float(price), float(amount)))
    return {day: sorted(trades) for day, trades in days.items()}


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive() -> ArchivePriceSource:
    return ArchivePriceSource(ARCHIVE_DIR)


@pytest.fixture(scope="module")
def mtgox(archive: ArchivePriceSource) -> ArchivePriceSource:
    return archive.for_market("mtgox")


@pytest.fixture(scope="module")
def bcm(archive: ArchivePriceSource) -> ArchivePriceSource:
    return archive.for_market("bitcoinmarket")


@pytest.fixture(params=["bitcoinmarket", "mtgox"])
def source(request: pytest.FixtureRequest, archive: ArchivePriceSource) -> PriceSource:
    """Each archived exchange, as the listing search sees it."""
    return archive.for_market(request.param)


# --- provenance ---------------------------------------------------------------------------------------


def test_every_shipped_file_has_the_checksum_sources_md_cites_for_it() -> None:
    sources = (ARCHIVE_DIR / "SOURCES.md").read_text()
    shipped = sorted(ARCHIVE_DIR.glob("*/*.csv"))

    assert [p.relative_to(ARCHIVE_DIR).as_posix() for p in shipped] == [
        "bitcoinmarket/BTC-USD-trades.csv",
        "mtgox/BTC-USD-1d.csv",
    ]
    for path in shipped:
        name = re.escape(path.relative_to(ARCHIVE_DIR).as_posix())
        section = re.search(rf"^## [^\n]*`{name}`.*?(?=^## |\Z)", sources, re.S | re.M)
        assert section is not None, f"SOURCES.md has no section for {path}"
        cited = re.search(r"sha256 `([0-9a-f]{64})`, ([\d,]+) bytes", section.group(0))
        assert cited is not None
        assert hashlib.sha256(path.read_bytes()).hexdigest() == cited.group(1)
        assert path.stat().st_size == int(cited.group(2).replace(",", ""))


def test_the_default_archive_dir_is_the_shipped_folder_wherever_delos_runs_from() -> None:
    assert DEFAULT_ARCHIVE_DIR == ARCHIVE_DIR
    assert Settings.from_env({}).archive_dir == ARCHIVE_DIR


# --- the PriceSource promise, per archived exchange ---------------------------------------------------


def test_each_archived_exchange_is_a_source_named_for_its_market_with_the_market_in_the_pair(
    source: PriceSource,
) -> None:
    pair = source.pair_for("btc")

    assert source.name in ARCHIVED_MARKETS
    assert isinstance(source, ArchivePriceSource)
    assert archived_market(pair.name) == source.market
    assert (pair.symbol, pair.quote) == ("BTC", "USD")
    assert source.pairs() == (pair,)


def test_first_day_is_the_first_daily_candle_and_no_candle_is_empty_or_off_midnight(source: PriceSource) -> None:
    pair = source.pair_for("BTC")
    first = source.first_day(pair)
    series = source.daily(pair)

    assert series.interval_minutes == DAILY_MINUTES
    assert first.day == series.candles[0].open_time
    assert first.price_is_vwap and first.price_usd == series.candles[0].vwap
    assert all(c.volume > 0 and c.open_time.time() == datetime.min.time() for c in series.candles)
    assert all(a.open_time < b.open_time for a, b in zip(series.candles, series.candles[1:], strict=False))
    assert source.history(pair) == series


def test_daily_since_keeps_the_days_opened_at_or_after_it(source: PriceSource) -> None:
    pair = source.pair_for("BTC")
    everything = source.daily(pair).candles
    since = everything[len(everything) // 2].open_time

    assert source.daily(pair, since=since).candles == tuple(c for c in everything if c.open_time >= since)
    assert source.daily(pair, since=since + timedelta(hours=1)).candles == everything[len(everything) // 2 + 1 :]
    assert source.daily(pair, since=everything[0].open_time - timedelta(days=400)).candles == everything


def test_the_archive_never_claims_a_day_after_its_record_ends(source: PriceSource) -> None:
    pair = source.pair_for("BTC")
    series = source.daily(pair)
    later = source.daily(pair, since=series.candles[-1].open_time + timedelta(days=1))

    assert later.candles == ()
    assert later.last_committed == series.last_committed == series.candles[-1].open_time
    assert complete(series, now=datetime(2030, 1, 1, tzinfo=UTC)) == series.candles


def test_a_coin_the_archive_does_not_hold_is_a_definite_no(source: PriceSource, archive: ArchivePriceSource) -> None:
    with pytest.raises(UnknownSymbol):
        source.pair_for("ETH")
    with pytest.raises(UnknownSymbol):
        archive.pair_for("ETH")
    with pytest.raises(UnknownSymbol):
        source.first_day(Pair("BTC", "XXBTZUSD"))
    assert archive.pairs_for("ETH") == ()


# --- Bitcoin Market: the earliest surviving public exchange trades ------------------------------------


def test_bitcoin_market_listing_is_2010_04_25_at_that_days_trade_vwap(bcm: ArchivePriceSource) -> None:
    days = bcm_days()
    first_trades = days[min(days)]
    first = bcm.first_day(bcm.pair_for("BTC"))

    assert min(days) == BCM_FIRST_DAY
    assert first.day == midnight(BCM_FIRST_DAY)
    volume_usd = sum(price * amount for _, price, amount in first_trades)
    assert first.volume_usd == pytest.approx(volume_usd, rel=1e-12)
    assert first.price_usd == pytest.approx(volume_usd / sum(amount for _, _, amount in first_trades), rel=1e-12)


def test_bitcoin_market_days_match_the_reference_parse_despite_unsorted_and_repeated_lines(
    bcm: ArchivePriceSource,
) -> None:
    lines = bcm_lines()
    times = [int(line.split(",")[0]) for line in lines]
    assert times != sorted(times), "the raw file is unsorted: the trap this test is about"
    assert len(set(lines)) < len(lines), "the raw file repeats lines: the trap this test is about"
    days = bcm_days()

    candles = bcm.daily(bcm.pair_for("BTC")).candles

    assert [c.open_time for c in candles] == [midnight(day) for day in sorted(days)]
    for candle in candles:
        trades = days[candle.open_time.date()]
        volume = sum(amount for _, _, amount in trades)
        assert candle.volume == pytest.approx(volume, rel=1e-12)
        assert candle.vwap == pytest.approx(sum(p * a for _, p, a in trades) / volume, rel=1e-12)
        assert (candle.open, candle.close) == (trades[0][1], trades[-1][1])
        assert (candle.low, candle.high) == (min(p for _, p, _ in trades), max(p for _, p, _ in trades))


# --- Mt. Gox --------------------------------------------------------------------------------------------


def test_mtgox_listing_is_2010_07_17_at_its_weighted_price_and_99_cents_of_volume(mtgox: ArchivePriceSource) -> None:
    rows = mtgox_rows()
    first = mtgox.first_day(mtgox.pair_for("BTC"))

    assert min(rows) == MTGOX_FIRST_DAY
    assert first.day == midnight(MTGOX_FIRST_DAY)
    assert first.price_usd == rows[MTGOX_FIRST_DAY]["Weighted Price"]
    assert first.volume_usd == rows[MTGOX_FIRST_DAY]["Volume (Currency)"]
    assert round(first.volume_usd, 2) == 0.99


def test_mtgox_days_are_the_files_traded_days_and_the_2011_halt_rows_are_skipped(mtgox: ArchivePriceSource) -> None:
    rows = mtgox_rows()
    assert all(not any(rows[day].values()) for day in MTGOX_HALT), "the raw file has 0.0 rows for the halt"
    traded = {day: row for day, row in rows.items() if row["Volume (BTC)"] > 0}

    series = mtgox.daily(mtgox.pair_for("BTC"))

    assert [c.open_time for c in series.candles] == [midnight(day) for day in sorted(traded)]
    assert series.candles[-1].open_time == midnight(MTGOX_LAST_DAY) == midnight(max(rows))
    assert not {c.open_time.date() for c in series.candles} & set(MTGOX_HALT)
    for candle in series.candles:
        row = traded[candle.open_time.date()]
        assert (candle.open, candle.high, candle.low, candle.close) == (
            row["Open"],
            row["High"],
            row["Low"],
            row["Close"],
        )
        assert (candle.vwap, candle.volume) == (row["Weighted Price"], row["Volume (BTC)"])


# --- both together ---------------------------------------------------------------------------------------


def test_the_whole_archive_answers_the_earliest_market_and_lists_both(archive: ArchivePriceSource) -> None:
    pairs = archive.pairs_for("BTC")

    assert [archived_market(p.name) for p in pairs] == ["bitcoinmarket", "mtgox"]
    assert archive.pair_for("BTC") == pairs[0]
    assert archive.pairs() == (pairs[0],)
    assert [archive.first_day(p).day.date() for p in pairs] == [BCM_FIRST_DAY, MTGOX_FIRST_DAY]
    assert archive.markets() == ("bitcoinmarket", "mtgox")
    assert [s.market for s in archive.per_market()] == ["bitcoinmarket", "mtgox"]


def test_bootstrap_builds_the_archive_from_settings_and_none_when_disabled() -> None:
    sources = bootstrap.archive_sources(Settings.from_env({}))
    whole = bootstrap.archive_source(Settings.from_env({}))

    assert [s.pair_for("BTC").name for s in sources] == ["bitcoinmarket:BTC-USD", "mtgox:BTC-USD"]
    assert whole is not None and whole.pair_for("BTC").name == "bitcoinmarket:BTC-USD"
    assert bootstrap.archive_source(Settings.from_env({"DELOS_ARCHIVE_DIR": ""})) is None
    assert bootstrap.archive_sources(Settings.from_env({"DELOS_ARCHIVE_DIR": " "})) == ()


def test_a_first_day_volume_is_what_changed_hands_not_a_rounded_figure(archive: ArchivePriceSource) -> None:
    for pair in archive.pairs_for("BTC"):
        first = archive.first_day(pair)
        assert math.isfinite(first.volume_usd) and first.volume_usd > 0
        assert first.volume_usd < 10, "both first days were a few dollars of trading"
