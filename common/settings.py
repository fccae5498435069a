"""Settings parsed once, at the edge, from a mapping (normally os.environ).

Pure: nothing here reads the environment itself, so it is testable with a dict.
Defaults run the embedded backend on a laptop; gcp mode fails loudly when its
project is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common.errors import InvalidRequest
from common.exchanges import BASE_URLS, LIVE_EXCHANGES
from common.symbols import normalize_symbol

DEFAULT_COINS = ("BTC", "ETH", "XRP", "LTC", "BCH", "ADA", "SOL", "DOT", "DOGE", "LINK", "XLM", "ATOM")
BACKENDS = ("embedded", "gcp")
# The archive shipped with Delos (archive/ at the repository root), found from the code rather
# than the working directory, so every entry point and the container image agree on it.
DEFAULT_ARCHIVE_DIR = Path(__file__).resolve().parent.parent / "archive"
# "auto": JSON for Cloud Logging unless the log stream is a terminal.
LOG_FORMATS = ("auto", "json", "text")
# Where metrics go (backends/metrics.py); the first is the default.
METRICS_MODES = ("off", "log", "gcp")


class SettingsError(ValueError):
    """A configuration value is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every knob Delos has; each maps to one environment variable (see README)."""

    backend: str = "embedded"
    data_dir: Path = Path(".delos")
    exchanges: tuple[str, ...] = LIVE_EXCHANGES  # the order is the preference for last-month prices
    exchange_urls: Mapping[str, str] = field(default_factory=lambda: dict(BASE_URLS))
    request_interval_s: float | None = None  # None: each exchange's published rate
    http_timeout_s: float = 10.0
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    ack_deadline_s: float = 60.0
    retry_backoff_min_s: float = 10.0
    retry_backoff_max_s: float = 600.0
    retry_budget_s: float = 1200.0
    coins: tuple[str, ...] = DEFAULT_COINS
    refresh_interval_s: float = 86400.0
    host: str = "127.0.0.1"
    port: int = 50051
    project: str | None = None
    topic: str = "delos-refresh"
    subscription: str = "delos-ingest"
    dead_letter_subscription: str = "delos-refresh-dead-inspect"
    max_outstanding: int = 2
    poll_interval_s: float = 0.5
    log_level: str = "INFO"
    log_format: str = "auto"
    metrics: str = "off"
    query_processes: int = 1
    archive_dir: Path | None = DEFAULT_ARCHIVE_DIR  # None: the archive is disabled

    @property
    def kraken_url(self) -> str:
        return self.exchange_urls["kraken"]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse settings; SettingsError names the first bad variable."""
        backend = env.get("DELOS_BACKEND", "embedded").strip().lower() or "embedded"
        if backend not in BACKENDS:
            raise SettingsError(f"DELOS_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
        project = env.get("GOOGLE_CLOUD_PROJECT") or None
        if backend == "gcp" and not project:
            raise SettingsError("DELOS_BACKEND=gcp needs GOOGLE_CLOUD_PROJECT")
        retry_backoff_min_s = _number(env, "DELOS_RETRY_BACKOFF_MIN", cls.retry_backoff_min_s, minimum=0.0)
        retry_backoff_max_s = _number(env, "DELOS_RETRY_BACKOFF_MAX", cls.retry_backoff_max_s, minimum=0.0)
        if retry_backoff_max_s < retry_backoff_min_s:
            raise SettingsError("DELOS_RETRY_BACKOFF_MAX must be at least DELOS_RETRY_BACKOFF_MIN")
        return cls(
            backend=backend,
            data_dir=Path(env.get("DELOS_DATA_DIR", ".delos")),
            exchanges=_exchanges(env.get("DELOS_EXCHANGES")),
            exchange_urls={name: _base_url(env, name) for name in LIVE_EXCHANGES},
            request_interval_s=_interval(env),
            http_timeout_s=_number(env, "DELOS_HTTP_TIMEOUT", cls.http_timeout_s, minimum=0.1),
            max_retries=int(_number(env, "DELOS_MAX_RETRIES", cls.max_retries, minimum=0)),
            backoff_base_s=_number(env, "DELOS_BACKOFF_BASE", cls.backoff_base_s, minimum=0.0),
            backoff_cap_s=_number(env, "DELOS_BACKOFF_CAP", cls.backoff_cap_s, minimum=0.0),
            ack_deadline_s=_number(env, "DELOS_ACK_DEADLINE", cls.ack_deadline_s, minimum=1.0, maximum=600.0),
            retry_backoff_min_s=retry_backoff_min_s,
            retry_backoff_max_s=retry_backoff_max_s,
            retry_budget_s=_number(env, "DELOS_RETRY_BUDGET", cls.retry_budget_s, minimum=0.0),
            coins=_coins(env.get("DELOS_COINS")),
            refresh_interval_s=_number(env, "DELOS_REFRESH_INTERVAL", cls.refresh_interval_s, minimum=1.0),
            host=env.get("DELOS_HOST", cls.host),
            port=int(_number(env, "PORT", cls.port, minimum=0, maximum=65535)),
            project=project,
            topic=env.get("DELOS_TOPIC", cls.topic),
            subscription=env.get("DELOS_SUBSCRIPTION", cls.subscription),
            dead_letter_subscription=env.get("DELOS_DEAD_LETTER_SUBSCRIPTION", cls.dead_letter_subscription),
            max_outstanding=int(_number(env, "DELOS_MAX_OUTSTANDING", cls.max_outstanding, minimum=1)),
            poll_interval_s=_number(env, "DELOS_POLL_INTERVAL", cls.poll_interval_s, minimum=0.05),
            log_level=env.get("DELOS_LOG_LEVEL", cls.log_level).upper(),
            log_format=_choice(env, "DELOS_LOG_FORMAT", LOG_FORMATS),
            metrics=_choice(env, "DELOS_METRICS", METRICS_MODES),
            query_processes=int(_number(env, "DELOS_QUERY_PROCESSES", cls.query_processes, minimum=1, maximum=64)),
            archive_dir=_archive_dir(env.get("DELOS_ARCHIVE_DIR")),
        )


def _number(env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float | None = None) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        bound = f" and at most {maximum:g}" if maximum is not None else ""
        raise SettingsError(f"{name} must be at least {minimum:g}{bound}, got {raw!r}")
    return value


def _archive_dir(raw: str | None) -> Path | None:
    """Unset: the shipped archive; set but empty: no archive; else that directory."""
    if raw is None:
        return DEFAULT_ARCHIVE_DIR
    return Path(raw.strip()) if raw.strip() else None


def _interval(env: Mapping[str, str]) -> float | None:
    """DELOS_REQUEST_INTERVAL spaces every exchange's requests alike; unset, each keeps its published rate."""
    raw = env.get("DELOS_REQUEST_INTERVAL")
    return None if raw is None or not raw.strip() else _number(env, "DELOS_REQUEST_INTERVAL", 0.0, minimum=0.0)


def _exchanges(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return LIVE_EXCHANGES
    names = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    unknown = [name for name in names if name not in LIVE_EXCHANGES]
    if unknown:
        raise SettingsError(f"DELOS_EXCHANGES: unknown exchange {unknown[0]!r}; known: {', '.join(LIVE_EXCHANGES)}")
    if not names:
        raise SettingsError("DELOS_EXCHANGES lists no exchange")
    return names


def _base_url(env: Mapping[str, str], exchange: str) -> str:
    """DELOS_<EXCHANGE>_URL: scheme and host only (the adapter adds the API path)."""
    name = f"DELOS_{exchange.upper()}_URL"
    raw = (env.get(name) or "").strip() or BASE_URLS[exchange]
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise SettingsError(f"{name} must be a scheme and host like https://example.com, got {raw!r}")
    return raw.rstrip("/")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default), case-insensitive."""
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _coins(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return DEFAULT_COINS
    try:
        coins = tuple(dict.fromkeys(normalize_symbol(part) for part in raw.split(",") if part.strip()))
    except InvalidRequest as exc:
        raise SettingsError(f"DELOS_COINS: {exc}") from exc
    if not coins:
        raise SettingsError("DELOS_COINS lists no coin")
    return coins
