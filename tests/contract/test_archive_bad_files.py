"""ArchivePriceSource on archives written here: traps handled, broken files refused with a message that says where."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bootstrap
from backends import archive_files
from backends.archive import ArchivePriceSource
from common.errors import BadPriceData, UnknownSymbol
from common.settings import Settings, SettingsError

HEADER = "Date,Open,High,Low,Close,Volume (BTC),Volume (Currency),Weighted Price\n"
DAY = 86_400
T0 = int(datetime(2010, 5, 1, tzinfo=UTC).timestamp())


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_unsorted_repeated_and_zero_trades_give_the_days_the_trades_make(tmp_path: Path) -> None:
    rows = [
        f"{T0 + DAY + 10},3.0,1.0",  # the second day first, as the real file's newest-first block
        f"{T0 + 50},2.0,3.0",
        f"{T0 + 10},1.0,1.0",
        f"{T0 + 50},2.0,3.0",  # an exact repeat
        f"{T0 + 70},5.0,0.0",  # no coins changed hands
        f"{T0 + 2 * DAY},0.0,4.0",  # no price: the only row of its day
    ]
    write(tmp_path, "oldex/BTC-USD-trades.csv", "\n".join(rows) + "\n")
    source = ArchivePriceSource(tmp_path)

    pair = source.pair_for("BTC")
    candles = source.daily(pair).candles
    first = source.first_day(pair)

    assert pair.name == "oldex:BTC-USD"
    assert [c.open_time.day for c in candles] == [1, 2]
    assert candles[0][1:] == (1.0, 2.0, 1.0, 2.0, 7.0 / 4.0, 4.0)
    assert (first.day.day, first.price_usd, first.volume_usd, first.price_is_vwap) == (1, 1.75, 7.0, True)


def test_a_daily_file_in_any_order_with_a_repeated_day_and_zero_rows_reads_as_its_traded_days(tmp_path: Path) -> None:
    text = HEADER + "2010-07-19,3,3,3,3,1,3,3\n2010-07-18,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n"
    text += "2010-07-17,1,2,1,2,4,6,1.5\n2010-07-19,3,3,3,3,1,3,3\n"
    write(tmp_path, "oldex/BTC-USD-1d.csv", text)
    source = ArchivePriceSource(tmp_path)

    pair = source.pair_for("BTC")
    candles = source.daily(pair).candles

    assert [c.open_time.day for c in candles] == [17, 19]
    assert candles[0][1:] == (1.0, 2.0, 1.0, 2.0, 1.5, 4.0)
    assert source.first_day(pair).volume_usd == 6.0


def test_a_day_without_a_weighted_price_is_listed_at_its_close(tmp_path: Path) -> None:
    write(tmp_path, "oldex/BTC-USD-1d.csv", HEADER + "2010-07-17,1,2,1,2,4,6,0\n")
    source = ArchivePriceSource(tmp_path)

    first = source.first_day(source.pair_for("BTC"))

    assert (first.price_usd, first.price_is_vwap) == (2.0, False)


@pytest.mark.parametrize(
    ("relative", "text", "says"),
    [
        ("oldex/BTC-USD-trades.csv", f"{T0},1.0,1.0\n{T0},abc,1.0\n", "line 2"),
        ("oldex/BTC-USD-trades.csv", f"{T0},1.0\n", "expected 3 fields"),
        ("oldex/BTC-USD-trades.csv", f"{T0},0.0,1.0\n", "no day with a trade"),
        ("oldex/BTC-USD-trades.csv", b"\xff\xfe\x00garbage", "cannot be read"),
        ("oldex/BTC-USD-1d.csv", "when,open\n2010-07-17,1\n", "header"),
        ("oldex/BTC-USD-1d.csv", HEADER + "17/07/2010,1,1,1,1,1,1,1\n", "line 2"),
        ("oldex/BTC-USD-1d.csv", HEADER + "2010-07-17,1,1,1,1,1,1,1\n2010-07-17,2,2,2,2,1,2,2\n", "lines 2 and 3"),
        ("oldex/BTC-USD-1d.csv", HEADER, "no day with a trade"),
    ],
)
def test_a_broken_file_is_bad_price_data_naming_the_file_and_what_is_wrong(
    tmp_path: Path, relative: str, text: str | bytes, says: str
) -> None:
    path = write(tmp_path, relative, text)

    with pytest.raises(BadPriceData) as caught:
        ArchivePriceSource(tmp_path).pair_for("BTC")

    assert str(path) in str(caught.value) and says in str(caught.value)


def test_a_missing_directory_is_read_only_when_asked_and_stops_start_up_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    source = ArchivePriceSource(missing)  # nothing is read yet

    with pytest.raises(BadPriceData, match="nowhere"):
        source.pair_for("BTC")
    with pytest.raises(SettingsError, match="DELOS_ARCHIVE_DIR"):
        bootstrap.archive_sources(Settings.from_env({"DELOS_ARCHIVE_DIR": str(missing)}))


def test_files_not_named_for_a_pair_or_not_in_a_usd_quote_are_ignored(tmp_path: Path) -> None:
    trade = f"{T0},1.0,1.0\n"
    write(tmp_path, "oldex/notes.csv", trade)
    write(tmp_path, "oldex/README.md", "notes")
    write(tmp_path, "oldex/BTC-EUR-trades.csv", trade)
    write(tmp_path, "OldEx/BTC-USD-trades.csv", trade)
    write(tmp_path, "loose.csv", trade)
    write(tmp_path, "oldex/LTC-USDT-trades.csv", trade)
    write(tmp_path, "oldex/LTC-USDC-trades.csv", trade)

    source = ArchivePriceSource(tmp_path)

    assert source.markets() == ("oldex",)
    assert [(p.symbol, p.name, p.quote) for p in source.pairs()] == [("LTC", "oldex:LTC-USDT", "USDT")]
    with pytest.raises(UnknownSymbol):
        source.pair_for("BTC")


def test_two_files_for_one_pair_are_refused_rather_than_one_picked(tmp_path: Path) -> None:
    write(tmp_path, "oldex/BTC-USD-trades.csv", f"{T0},1.0,1.0\n")
    write(tmp_path, "oldex/BTC-USD-1d.csv", HEADER + "2010-05-01,1,1,1,1,1,1,1\n")

    with pytest.raises(BadPriceData, match="two files"):
        ArchivePriceSource(tmp_path).pairs()


def test_each_market_is_its_own_source_and_a_broken_one_does_not_break_the_other(tmp_path: Path) -> None:
    write(tmp_path, "early/BTC-USD-trades.csv", f"{T0 + DAY},9.0,1.0\n{T0},1.0,1.0\n")
    write(tmp_path, "late/BTC-USD-trades.csv", f"{T0 + 5 * DAY},2.0,1.0\n")
    write(tmp_path, "broken/BTC-USD-trades.csv", "not,a,trade\n")
    archive = ArchivePriceSource(tmp_path)

    early, late = archive.for_market("early"), archive.for_market("late")

    assert early.first_day(early.pair_for("BTC")).day.day == 1
    assert late.first_day(late.pair_for("BTC")).day.day == 6
    with pytest.raises(UnknownSymbol):
        early.first_day(late.pair_for("BTC"))
    with pytest.raises(BadPriceData, match="broken"):
        archive.pair_for("BTC")


def test_a_file_is_parsed_once_and_again_only_when_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "oldex/BTC-USD-trades.csv", f"{T0},1.0,1.0\n")
    (file,) = archive_files.scan(tmp_path)

    first = archive_files.read(file)
    assert archive_files.read(file) is first

    path.write_text(f"{T0},1.0,1.0\n{T0 + 1},3.0,1.0\n")
    os.utime(path, ns=(1, 1))
    assert archive_files.read(file).bars[0].candle.close == 3.0
