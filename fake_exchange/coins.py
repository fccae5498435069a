"""The synthetic market's data model: coins, their venue on each exchange, and the market that holds them.

A coin has one price history (the world's) and a `Venue` per exchange that
lists it: from which day, against which quote, and which days saw no trade
there. A coin without a venue on an exchange is absent from that exchange.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import overload

from fake_exchange.ohlc import DAY_S, Row


@dataclass(frozen=True, slots=True)
class Venue:
    """A coin's pair on one exchange: listed on `listed` (unix s, 00:00 UTC) against `quote`.

    `quiet_every` > 0 makes every such day after the listing a day without trades there,
    (a flat zero-volume candle on Bitstamp, an omitted one on Bitfinex); 0: none.
    """

    listed: int
    quote: str = "USD"
    quiet_every: int = 0

    def is_quiet(self, day: int) -> bool:
        """Whether nothing traded on `day` (never the listing day itself)."""
        return self.quiet_every > 0 and day > self.listed and (day - self.listed) // DAY_S % self.quiet_every == 0


@dataclass(frozen=True, slots=True, eq=False)
class FakeCoin:
    """One pair as Kraken lists it; `daily` rows are oldest first, and the last one may be unfinished.

    `early` holds the coin's days before `daily` (traded elsewhere before Kraken listed it).
    `venues` says where else it trades; None means on Kraken only, from its first row.
    """

    symbol: str
    pair_name: str
    altname: str
    wsname: str | None
    base: str
    quote: str
    daily: Sequence[Row]
    status: str = "online"
    early: Sequence[Row] = ()
    venues: Mapping[str, Venue] | None = field(default=None)

    def venue(self, exchange: str) -> Venue | None:
        """Where this coin trades on `exchange`, or None if it is absent there."""
        if self.venues is None:
            return Venue(self.daily[0][0]) if exchange == "kraken" and self.daily else None
        return self.venues.get(exchange)

    def rows_on(self, exchange: str) -> Sequence[Row]:
        """The coin's daily rows from its listing day on `exchange` (empty where it is absent)."""
        venue = self.venue(exchange)
        if venue is None:
            return ()
        if self.daily and venue.listed == self.daily[0][0]:
            return self.daily
        rows = [*self.early, *self.daily] if self.early else list(self.daily)
        return rows[bisect.bisect_left(rows, venue.listed, key=lambda r: r[0]) :]


class LazyRows(Sequence[Row]):
    """Rows generated on first use, so a market of thousands of coins costs nothing until asked."""

    def __init__(self, make: Callable[[], list[Row]]) -> None:
        self._make: Callable[[], list[Row]] | None = make
        self._rows: list[Row] = []
        self._lock = threading.Lock()

    def _materialized(self) -> list[Row]:
        with self._lock:
            if self._make is not None:
                self._rows, self._make = self._make(), None
            return self._rows

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        return self._materialized()[index]

    def __len__(self) -> int:
        return len(self._materialized())


class FakeMarket:
    """Coins keyed by pair name; thread-safe, and versioned so that servers know when to drop caches."""

    def __init__(self, coins: Iterable[FakeCoin] = ()) -> None:
        self._lock = threading.Lock()
        self._coins: dict[str, FakeCoin] = {c.pair_name: c for c in coins}
        self.version = 0

    def __iter__(self) -> Iterator[FakeCoin]:
        with self._lock:
            return iter(list(self._coins.values()))

    def __len__(self) -> int:
        return len(self._coins)

    def find(self, name: str) -> FakeCoin | None:
        """The coin whose pair name or altname is `name`: Kraken accepts either."""
        with self._lock:
            coin = self._coins.get(name)
            return coin or next((c for c in self._coins.values() if c.altname == name), None)

    def by_symbol(self, symbol: str, quote: str = "ZUSD") -> FakeCoin:
        """The pair of `symbol` against `quote`; KeyError if there is none."""
        with self._lock:
            for coin in self._coins.values():
                if coin.symbol == symbol and coin.quote == quote:
                    return coin
        raise KeyError(symbol)

    def pairs_on(
        self, exchange: str, pair_name: Callable[[str, str], str | None], decoys: Sequence[str] = ()
    ) -> dict[str, FakeCoin]:
        """Pair name -> coin for the coins that trade on `exchange`: under the venue's quote, then under
        each of `decoys` (quotes a USD reader must not prefer); `pair_name` None skips a quote."""
        index: dict[str, FakeCoin] = {}
        for coin in self:
            venue = coin.venue(exchange)
            if venue is None:
                continue
            for quote in (venue.quote, *decoys):
                name = pair_name(coin.symbol, quote)
                if name is not None:
                    index.setdefault(name, coin)
        return index

    def add(self, coin: FakeCoin) -> None:
        """List a pair, replacing any with the same pair name."""
        with self._lock:
            self._coins[coin.pair_name] = coin
            self.version += 1

    def remove(self, pair_name: str) -> None:
        """Delist a pair: it leaves AssetPairs, and OHLC answers `EQuery:Unknown asset pair`."""
        with self._lock:
            del self._coins[pair_name]
            self.version += 1

    def append_day(self, pair_name: str, row: Row) -> None:
        """Add one daily candle (a new day of trading) to a pair."""
        with self._lock:
            coin = self._coins[pair_name]
            if coin.daily and row[0] <= coin.daily[-1][0]:
                raise ValueError("a new day must come after the last one")
            self._coins[pair_name] = replace(coin, daily=[*coin.daily, row])
            self.version += 1

    def set_status(self, pair_name: str, status: str) -> None:
        """Change a pair's trading status (online, cancel_only, ...)."""
        with self._lock:
            self._coins[pair_name] = replace(self._coins[pair_name], status=status)
            self.version += 1


def day_start(moment: datetime) -> int:
    """Unix seconds of 00:00 UTC on the day of `moment`, which must be tz-aware."""
    if moment.tzinfo is None:
        raise ValueError("time must be tz-aware")
    seconds = int(moment.timestamp())
    return seconds - seconds % DAY_S
