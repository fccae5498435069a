"""KrakenPriceSource: Kraken's keyless REST API (AssetPairs, OHLC) as a `common.ports.PriceSource`.

Kraken answers most failures with HTTP 200 and an `error` list, so errors are
classified by their text as well as by status code. Transient failures are
retried with capped, fully jittered exponential backoff; every request waits
its turn behind a throttle, because public calls are limited per IP (about one
per second).
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from common.candles import Candle, CandleSeries, utc_from_unix, validated
from common.errors import BadPriceData, ExchangeUnavailable, InvalidRequest, RateLimited, UnknownSymbol
from common.ports import Pair
from common.symbols import normalize_symbol

log = logging.getLogger(__name__)

USD_QUOTES = frozenset({"ZUSD", "USD"})
# Kraken's historical asset codes for coins everyone else names differently.
SYMBOL_ALIASES: Mapping[str, str] = {"XBT": "BTC", "XDG": "DOGE"}
UNKNOWN_PAIR = ("EQuery:Unknown asset pair",)
RATE_LIMIT_ERRORS = ("EAPI:Rate limit exceeded", "EGeneral:Too many requests", "EGeneral:Temporary lockout")
UNAVAILABLE_ERRORS = ("EService:Unavailable", "EService:Busy", "EGeneral:Internal error")
PAIRS_TTL_S = 3600.0


def _is(error: str, known: tuple[str, ...]) -> bool:
    # Kraken may append detail ("EGeneral:Invalid arguments:interval"), so match on the prefix.
    return any(error == k or error.startswith(k + ":") for k in known)


def raise_for_kraken_errors(body: object, what: str) -> Mapping[str, Any]:
    """The `result` of a Kraken envelope, or the domain error its `error` list stands for."""
    if not isinstance(body, dict) or not isinstance(body.get("error", []), list):
        raise BadPriceData(f"Kraken {what}: answer is not Kraken's JSON envelope")
    errors = [e for e in body.get("error", []) if isinstance(e, str) and e.startswith("E")]  # W... are warnings
    if errors:
        first = errors[0]
        if _is(first, UNKNOWN_PAIR):
            raise UnknownSymbol(f"Kraken {what}: {first}")
        if _is(first, RATE_LIMIT_ERRORS):
            raise RateLimited(f"Kraken {what}: {first}")
        if _is(first, UNAVAILABLE_ERRORS):
            raise ExchangeUnavailable(f"Kraken {what}: {first}")
        raise BadPriceData(f"Kraken {what}: {first}")
    result = body.get("result")
    if not isinstance(result, dict):
        raise BadPriceData(f"Kraken {what}: answer has no result")
    return result


def symbol_of(info: Mapping[str, Any]) -> str | None:
    """Our symbol for an AssetPairs entry (XBT/USD -> BTC), or None when it cannot be one."""
    wsname = info.get("wsname")
    if isinstance(wsname, str) and "/" in wsname:
        base = wsname.split("/", 1)[0]
    else:
        base = str(info.get("base", ""))
        # Legacy four-letter codes carry an X (crypto) or Z (fiat) class prefix: XXBT, XETH, XXRP.
        if len(base) == 4 and base[0] in "XZ":
            base = base[1:]
    base = SYMBOL_ALIASES.get(base.upper(), base.upper())
    try:
        return normalize_symbol(base)
    except InvalidRequest:
        return None


def usd_pairs_from(result: Mapping[str, Any]) -> tuple[Pair, ...]:
    """One online USD pair per symbol, named by the AssetPairs key (which is also OHLC's result key)."""
    pairs: dict[str, Pair] = {}
    for name, info in result.items():
        if not isinstance(info, dict) or name.endswith(".d") or str(info.get("altname", "")).endswith(".d"):
            continue  # dark pools trade the same coin off-book
        if info.get("quote") not in USD_QUOTES or info.get("status", "online") != "online":
            continue
        symbol = symbol_of(info)
        if symbol is not None and symbol not in pairs:
            pairs[symbol] = Pair(symbol=symbol, name=name)
    return tuple(pairs.values())


def _candle(row: object) -> Candle:
    # Runs for every entry of every answer, so the checks ride on the conversions' own errors.
    try:
        if not isinstance(row, list):
            raise TypeError("not a list")
        time_s, open_, high, low, close, vwap, volume = map(float, row[:7])
        return Candle(datetime.fromtimestamp(time_s, UTC), open_, high, low, close, vwap, volume)
    except (TypeError, ValueError, KeyError, OverflowError, OSError) as exc:
        raise BadPriceData(
            f"Kraken OHLC row {row!r:.80} is not [time, open, high, low, close, vwap, volume, ...] of numbers"
        ) from exc


def series_from(result: Mapping[str, Any], interval_minutes: int) -> CandleSeries:
    """A validated series from OHLC's result, whatever its pair key is called."""
    keys = [k for k in result if k != "last"]
    if len(keys) != 1 or not isinstance(result[keys[0]], list):
        raise BadPriceData(f"Kraken OHLC: expected one pair in the result, got {keys[:5]!r}")
    candles = validated(_candle(row) for row in result[keys[0]])
    last = result.get("last")
    committed = utc_from_unix(last) if isinstance(last, int | float) and not isinstance(last, bool) else None
    return CandleSeries(interval_minutes, candles, committed)


class KrakenPriceSource:
    """Prices from Kraken over HTTPS; one instance may be shared by threads."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        request_interval_s: float = 1.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        pairs_ttl_s: float = PAIRS_TTL_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        # trust_env=False: proxies and certificates come from settings, not from whatever the environment holds.
        self._client = httpx.Client(
            base_url=base_url, timeout=timeout_s, trust_env=False, headers={"User-Agent": "delos-ingest"}
        )
        self._timeout_s = timeout_s
        self._request_interval_s = request_interval_s
        self._max_retries = max_retries
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._pairs_ttl_s = pairs_ttl_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng
        self._throttle_lock = threading.Lock()
        self._next_slot = -math.inf
        self._pairs_lock = threading.Lock()
        self._pairs: tuple[tuple[Pair, ...], float] | None = None

    def usd_pairs(self) -> Sequence[Pair]:
        """Every online USD pair, one per symbol; AssetPairs is fetched at most once per `pairs_ttl_s`."""
        with self._pairs_lock:
            if self._pairs is None or self._monotonic() - self._pairs[1] >= self._pairs_ttl_s:
                result = self._get("AssetPairs", {}, "all pairs")
                self._pairs = (usd_pairs_from(result), self._monotonic())
            return self._pairs[0]

    def pair_for(self, symbol: str) -> Pair:
        """The USD pair of `symbol`; UnknownSymbol if Kraken lists none."""
        wanted = symbol.strip().upper()
        for pair in self.usd_pairs():
            if pair.symbol == wanted:
                return pair
        raise UnknownSymbol(f"Kraken has no USD pair for {wanted}")

    def candles(self, pair: Pair, interval_minutes: int, since: datetime | None = None) -> CandleSeries:
        """The (at most 720) newest candles, opened after `since` if given; the last one is unfinished."""
        params = {"pair": pair.name, "interval": str(interval_minutes)}
        if since is not None:
            params["since"] = str(int(since.timestamp()))
        result = self._get("OHLC", params, pair.name)
        return series_from(result, interval_minutes)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def __enter__(self) -> KrakenPriceSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _get(self, endpoint: str, params: Mapping[str, str], what: str) -> Mapping[str, Any]:
        """One logical request: throttled, retried while the failure is transient."""
        for attempt in range(self._max_retries + 1):
            try:
                return raise_for_kraken_errors(self._fetch(endpoint, params, what), what)
            except ExchangeUnavailable as exc:  # RateLimited included; everything else is permanent
                if attempt >= self._max_retries:
                    raise
                delay = self._backoff(attempt, exc)
                log.warning(
                    "Kraken %s for %s failed (%s); retry %d of %d in %.2f s",
                    endpoint, what, exc, attempt + 1, self._max_retries, delay,
                )  # fmt: skip
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int, exc: ExchangeUnavailable) -> float:
        """Full jitter (a random wait up to the exponential bound), never less than Kraken's Retry-After."""
        delay = self._rng() * min(self._backoff_cap_s, self._backoff_base_s * 2.0**attempt)
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            delay = max(delay, exc.retry_after_s)
        return min(delay, self._backoff_cap_s)

    def _wait_turn(self) -> None:
        """Space requests at least `request_interval_s` apart, across threads."""
        with self._throttle_lock:
            now = self._monotonic()
            if now < self._next_slot:
                self._sleep(self._next_slot - now)
            self._next_slot = max(now, self._next_slot) + self._request_interval_s

    def _fetch(self, endpoint: str, params: Mapping[str, str], what: str) -> object:
        """GET one endpoint and decode its JSON; the one place where httpx errors become domain errors."""
        self._wait_turn()
        try:
            response = self._client.get(f"/0/public/{endpoint}", params=params)
        except httpx.TimeoutException as exc:
            raise ExchangeUnavailable(f"Kraken {what}: no answer within {self._timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise ExchangeUnavailable(f"Kraken {what}: {type(exc).__name__}") from exc
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
            retry_after = _seconds(response.headers.get("Retry-After"))
            raise RateLimited(f"Kraken {what}: HTTP 429", retry_after_s=retry_after)
        if response.status_code != httpx.codes.OK:
            # Kraken reports its own errors with HTTP 200; anything else comes from the CDN or a proxy.
            raise ExchangeUnavailable(f"Kraken {what}: HTTP {response.status_code}")
        try:
            return json.loads(response.content)
        except ValueError as exc:  # cut-off JSON, or a proxy's HTML page
            raise ExchangeUnavailable(f"Kraken {what}: answer is not JSON") from exc


def _seconds(header: str | None) -> float | None:
    """Retry-After as seconds; the HTTP-date form is ignored (backoff applies instead)."""
    try:
        value = float(header) if header is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
