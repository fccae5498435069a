"""ArchivePriceSource: exchanges older than every live API, read from files shipped with Delos.

BTC traded for years (Bitcoin Market from 2010-04-25, Mt. Gox from 2010-07-17) before
any exchange that still answers. Those records survive as files (see archive/SOURCES.md),
and this adapter serves them behind the same PriceSource port as a live exchange.

Each archived exchange (a *market*: `mtgox`, `bitcoinmarket`) is its own listing
candidate. The source's name is always "archive"; the market travels in the pair's name
(`mtgox:BTC-USD`, see common.archive_pairs). `per_market()` gives one source per market,
so a listing search that asks every source once sees Bitcoin Market and Mt. Gox as two
entries; the unrestricted source's pair_for answers the earliest market. Nothing is read
until first asked, and each file is parsed once per process.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from backends import archive_files
from backends.archive_files import ArchiveFile, ArchiveRecord
from common.archive_pairs import archive_pair_name
from common.candles import DAILY_MINUTES, CandleSeries, ValidCandles
from common.errors import UnknownSymbol
from common.exchanges import ARCHIVE, QUOTES
from common.ports import FirstDay, Pair

log = logging.getLogger(__name__)


class ArchivePriceSource:
    """Daily history of archived exchanges; `market` restricts it to one (None: all of them).

    `name` is the archived exchange's (mtgox) when restricted to one, so each market is its own listing;
    "archive" otherwise.
    """

    def __init__(self, directory: Path, market: str | None = None) -> None:
        self.directory = directory
        self.market = market
        self.name = market or ARCHIVE
        self._lock = threading.Lock()
        self._files: Mapping[str, ArchiveFile] | None = None  # by pair name

    def markets(self) -> tuple[str, ...]:
        """The archived exchanges this source reads, by name."""
        return tuple(sorted({file.market for file in self._index().values()}))

    def for_market(self, market: str) -> ArchivePriceSource:
        """The archived exchange `market` alone (a name it lacks holds no pair); files are parsed once either way."""
        return ArchivePriceSource(self.directory, market)

    def per_market(self) -> tuple[ArchivePriceSource, ...]:
        """One source per archived exchange, so that each can be its own listing."""
        return tuple(self.for_market(market) for market in self.markets())

    def pairs(self) -> Sequence[Pair]:
        """One pair per symbol: the earliest-listed market's."""
        return tuple(self.pair_for(symbol) for symbol in sorted({f.symbol for f in self._index().values()}))

    def pairs_for(self, symbol: str) -> tuple[Pair, ...]:
        """Every market's pair of `symbol`, earliest first day first (ties: by market name)."""
        wanted = symbol.strip().upper()
        pairs = [Pair(wanted, name, file.quote) for name, file in self._index().items() if file.symbol == wanted]
        return tuple(sorted(pairs, key=lambda pair: (self._record(pair).candles[0].open_time, pair.name)))

    def pair_for(self, symbol: str) -> Pair:
        """The pair of the market where `symbol` traded first; UnknownSymbol if no market has it."""
        pairs = self.pairs_for(symbol)
        if not pairs:
            where = f"archived exchange {self.market}" if self.market else "archive"
            raise UnknownSymbol(f"the {where} has no {symbol.strip().upper()} pair")
        return pairs[0]

    def first_day(self, pair: Pair) -> FirstDay:
        """The market's first trading day: its VWAP (the weighted price, or that of its trades) and quote volume."""
        first = self._record(pair).bars[0]
        candle = first.candle
        has_vwap = candle.vwap > 0
        return FirstDay(candle.open_time, candle.vwap if has_vwap else candle.close, first.volume_quote, has_vwap)

    def daily(self, pair: Pair, since: datetime | None = None) -> CandleSeries:
        """Days with trades opened at or after `since`; never a day after the record ends."""
        candles = self._record(pair).candles
        # The exchange is gone: every archived day is final, the last one included.
        last = candles[-1].open_time
        if since is not None:
            candles = ValidCandles(candles[bisect.bisect_left(candles, since, key=lambda c: c.open_time) :])
        return CandleSeries(DAILY_MINUTES, candles, last)

    def history(self, pair: Pair) -> CandleSeries:
        """The whole record: it is daily from the first day."""
        return self.daily(pair)

    def close(self) -> None:
        """Nothing to release: files are read whole and closed at once."""

    def _record(self, pair: Pair) -> ArchiveRecord:
        file = self._index().get(pair.name)
        if file is None or file.symbol != pair.symbol:
            raise UnknownSymbol(f"{pair.name} is not a pair of the {self.market or 'archive'}")
        return archive_files.read(file)

    def _index(self) -> Mapping[str, ArchiveFile]:
        with self._lock:
            if self._files is None:
                self._files = _preferred(archive_files.scan(self.directory), self.market)
            return self._files


def _preferred(files: Sequence[ArchiveFile], market: str | None) -> Mapping[str, ArchiveFile]:
    """One file per market and symbol: the quote first in QUOTES (USD before USDT before USDC)."""
    chosen: dict[tuple[str, str], ArchiveFile] = {}
    for file in files:
        if market is not None and file.market != market:
            continue
        if file.quote not in QUOTES:
            log.warning("archive: %s is quoted in %s, not in %s; ignored", file.path, file.quote, "/".join(QUOTES))
            continue
        key = (file.market, file.symbol)
        if key not in chosen or QUOTES.index(file.quote) < QUOTES.index(chosen[key].quote):
            chosen[key] = file
    return {archive_pair_name(f.market, f.symbol, f.quote): f for f in chosen.values()}
