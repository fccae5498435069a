"""How an archive pair names the exchange it was archived from: `mtgox:BTC-USD`.

An archive listing names the archived exchange as its `exchange` (mtgox) and has
source "archive"; the pair's name repeats the exchange before the colon, so a pair
read on its own still says where it came from. Both sides (the archive source and whoever labels a listing) use
these two functions, so the format has one definition.
"""

from __future__ import annotations

SEPARATOR = ":"


def archive_pair_name(market: str, symbol: str, quote: str) -> str:
    """The pair name of `symbol` against `quote` on the archived exchange `market`."""
    return f"{market}{SEPARATOR}{symbol}-{quote}"


def archived_market(pair_name: str) -> str | None:
    """The archived exchange of an archive pair (`mtgox:BTC-USD` -> `mtgox`); None if not so named.

    Only meaningful for the archive's pairs: a live exchange's names may hold a colon too
    (Bitfinex's `tDOGE:USD`), so ask by the listing's exchange, not by the pair's look.
    """
    market, separator, rest = pair_name.partition(SEPARATOR)
    symbol, dash, quote = rest.partition("-")
    return market if separator and market and symbol and dash and quote else None
