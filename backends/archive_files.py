"""The archive's files on disk: which there are, and their rows as day bars, traps handled.

Layout: `<archive dir>/<market>/<SYMBOL>-<QUOTE>-1d.csv` (bitcoincharts daily candles:
`Date,Open,High,Low,Close,Volume (coin),Volume (quote),Weighted Price`, header row, any
order) or `<market>/<SYMBOL>-<QUOTE>-trades.csv` (bitcoincharts raw trades:
`unixtime,price,amount`, no header, any order). Rows that are not a trade (a halted day's
`0.0` row, a zero amount) are skipped; a row that is not numbers at all makes the file
unusable, and the error names the file and line. Each file is parsed once per process.
"""

from __future__ import annotations

import csv
import functools
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from common.candles import Candle, ValidCandles, validated
from common.errors import BadPriceData
from common.trades import DayBar, Trade, daily_bars

log = logging.getLogger(__name__)

DAILY = "1d"
TRADES = "trades"
FILE_NAME = re.compile(r"(?P<symbol>[A-Z0-9]{1,15})-(?P<quote>[A-Z]{3,5})-(?P<kind>1d|trades)\.csv")
MARKET_NAME = re.compile(r"[a-z0-9_]{1,40}")
DAILY_COLUMNS = 8


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """One shipped file: a market's (archived exchange's) history of one pair."""

    market: str
    symbol: str
    quote: str
    kind: str  # DAILY or TRADES
    path: Path


def scan(directory: Path) -> tuple[ArchiveFile, ...]:
    """Every archive file under `directory`, by market then symbol; BadPriceData if it cannot be listed."""
    try:
        markets = sorted(p for p in directory.iterdir() if p.is_dir() and MARKET_NAME.fullmatch(p.name))
        found = [(market, sorted(market.glob("*.csv"))) for market in markets]
    except OSError as exc:
        raise BadPriceData(f"archive directory {directory} cannot be read: {exc.strerror or exc}") from exc
    files: list[ArchiveFile] = []
    for market, paths in found:
        for path in paths:
            match = FILE_NAME.fullmatch(path.name)
            if match is None:
                log.warning("archive: %s is not named <SYMBOL>-<QUOTE>-1d.csv or -trades.csv; ignored", path)
                continue
            file = ArchiveFile(market.name, match["symbol"], match["quote"], match["kind"], path)
            if any((f.market, f.symbol, f.quote) == (file.market, file.symbol, file.quote) for f in files):
                raise BadPriceData(f"archive: two files for {file.market} {file.symbol}-{file.quote}; keep one")
            files.append(file)
    return tuple(files)


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """A file's trading days, oldest first: with their quote volumes, and as validated candles."""

    bars: tuple[DayBar, ...]
    candles: ValidCandles


def read(file: ArchiveFile) -> ArchiveRecord:
    """The file's trading days; BadPriceData if it is unreadable, malformed or has none."""
    try:
        stat = file.path.stat()
    except OSError as exc:
        raise BadPriceData(f"archive file {file.path} cannot be read: {exc.strerror or exc}") from exc
    # The stamp makes a replaced file parse again; an unchanged one is parsed once per process.
    return _parsed(file.path, file.kind, (stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=64)
def _parsed(path: Path, kind: str, _stamp: tuple[int, int]) -> ArchiveRecord:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [(number, row) for number, row in enumerate(csv.reader(handle), start=1) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadPriceData(f"archive file {path} cannot be read: {exc}") from exc
    bars = _daily(path, rows) if kind == DAILY else _trades(path, rows)
    if not bars:
        raise BadPriceData(f"archive file {path} holds no day with a trade")
    log.info("archive: %s: %d trading days, %s to %s", path, len(bars), _day(bars[0]), _day(bars[-1]))
    return ArchiveRecord(bars, validated(bar.candle for bar in bars))


def _day(bar: DayBar) -> str:
    return bar.candle.open_time.date().isoformat()


def _trades(path: Path, rows: list[tuple[int, list[str]]]) -> tuple[DayBar, ...]:
    trades = [Trade(*_numbers(path, number, row, 3)) for number, row in rows]
    bars = daily_bars(trades)
    log.debug("archive: %s: %d rows, %d distinct trades", path, len(trades), len(set(trades)))
    return bars


def _daily(path: Path, rows: list[tuple[int, list[str]]]) -> tuple[DayBar, ...]:
    if not rows or len(rows[0][1]) != DAILY_COLUMNS or rows[0][1][0].strip() != "Date":
        raise BadPriceData(f"archive file {path}: expected the header Date,Open,High,Low,Close,Volume,Volume,Weighted")
    by_day: dict[datetime, tuple[DayBar, int]] = {}
    for number, row in rows[1:]:
        day = _date(path, number, row[0])
        open_, high, low, close, volume, volume_quote, vwap = _numbers(path, number, row[1:], DAILY_COLUMNS - 1)
        prices = (open_, high, low, close)
        if not (0 < volume < math.inf and 0 < volume_quote < math.inf and all(0 < p < math.inf for p in prices)):
            continue  # a day without trades (Mt. Gox's 2011 halt is rows of 0.0): missing, not a price
        bar = DayBar(Candle(day, open_, high, low, close, vwap if 0 < vwap < math.inf else 0.0, volume), volume_quote)
        earlier = by_day.setdefault(day, (bar, number))
        if earlier[0] != bar:
            raise BadPriceData(f"archive file {path}: lines {earlier[1]} and {number} disagree about {day.date()}")
    return tuple(by_day[day][0] for day in sorted(by_day))


def _date(path: Path, number: int, text: str) -> datetime:
    try:
        day = date.fromisoformat(text.strip())
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        raise BadPriceData(f"archive file {path}, line {number}: {text!r:.40} is not a YYYY-MM-DD date") from None


def _numbers(path: Path, number: int, fields: list[str], count: int) -> list[float]:
    if len(fields) != count:
        raise BadPriceData(f"archive file {path}, line {number}: expected {count} fields, got {len(fields)}")
    try:
        values = [float(field) for field in fields]
    except ValueError:
        raise BadPriceData(f"archive file {path}, line {number}: {','.join(fields)!r:.80} is not all numbers") from None
    return values
