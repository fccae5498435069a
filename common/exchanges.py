"""The exchanges Delos reads, their names and asset-code renames: one definition for every list.

Settings, the CLI, the converters, the fake exchanges and the adapters derive
their lists from here; nothing else spells an exchange name or a rename.
"""

from __future__ import annotations

from collections.abc import Mapping

# Live exchanges with keyless REST history, in the default preference order for last-month prices.
LIVE_EXCHANGES: tuple[str, ...] = ("kraken", "coinbase", "bitstamp", "bitfinex", "binance")
# Where each live exchange's keyless REST API answers (scheme and host; the adapter adds the path).
# Binance's market-data host is not geo-blocked the way its trading hosts are (HTTP 451).
BASE_URLS: Mapping[str, str] = {
    "kraken": "https://api.kraken.com",
    "coinbase": "https://api.exchange.coinbase.com",
    "bitstamp": "https://www.bitstamp.net",
    "bitfinex": "https://api-pub.bitfinex.com",
    "binance": "https://data-api.binance.vision",
}
# Files shipped with Delos for the years before any live API (see archive/SOURCES.md): a listing read
# from them has source "archive" and names the archived exchange (ARCHIVED_MARKETS) as its exchange.
ARCHIVE = "archive"
ARCHIVED_MARKETS: tuple[str, ...] = ("bitcoinmarket", "mtgox")
# Every name a listing's `exchange` may carry.
ALL_SOURCES: tuple[str, ...] = (*ARCHIVED_MARKETS, *LIVE_EXCHANGES)
# What a request may name to buy "as if at that exchange's listing": any source, or "archive" for the
# earliest archived one.
ASKABLE: tuple[str, ...] = (ARCHIVE, *ALL_SOURCES)


def is_archived(name: str) -> bool:
    """Whether `name` is the archive or one of its exchanges: history only, never a last month."""
    return name == ARCHIVE or name in ARCHIVED_MARKETS


# Quote currencies, most preferred first. USDT and USDC are taken at par with USD, and the
# quote is carried into the answer, so a client can say so.
QUOTES: tuple[str, ...] = ("USD", "USDT", "USDC")

# Exchange asset codes that differ from the common symbol, per exchange: exchange code -> ours.
# A code absent here is the common symbol itself. Bitfinex's DOG is MDOGE, not DOGE, so it is
# mapped to MDOGE and never mistaken for DOGE (tDOGE:USD is DOGE there).
RENAMES: Mapping[str, Mapping[str, str]] = {
    "kraken": {"XBT": "BTC", "XDG": "DOGE"},
    "bitfinex": {"UST": "USDT", "UDC": "USDC", "DOG": "MDOGE", "DSH": "DASH", "IOT": "IOTA", "ALG": "ALGO"},
    "coinbase": {},
    "bitstamp": {},
    "binance": {},
}


def common_symbol(exchange: str, code: str) -> str:
    """Our symbol for an exchange's asset code (XBT on Kraken -> BTC)."""
    upper = code.strip().upper()
    return RENAMES.get(exchange, {}).get(upper, upper)


def exchange_code(exchange: str, symbol: str) -> str:
    """The exchange's asset code for our symbol (BTC on Kraken -> XBT); the symbol when not renamed."""
    for code, ours in RENAMES.get(exchange, {}).items():
        if ours == symbol:
            return code
    return symbol
