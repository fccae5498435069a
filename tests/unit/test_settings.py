"""Settings parsed from a plain mapping: defaults for a laptop, loud failures for production mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import DEFAULT_ARCHIVE_DIR, DEFAULT_COINS, Settings, SettingsError


def test_an_empty_environment_gives_the_embedded_defaults() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.backend == "embedded"
    assert settings.data_dir == Path(".delos")
    assert settings.kraken_url == "https://api.kraken.com"
    assert settings.exchanges == ("kraken", "coinbase", "bitstamp", "bitfinex", "binance")
    assert settings.exchange_urls == {
        "kraken": "https://api.kraken.com",
        "coinbase": "https://api.exchange.coinbase.com",
        "bitstamp": "https://www.bitstamp.net",
        "bitfinex": "https://api-pub.bitfinex.com",
        "binance": "https://data-api.binance.vision",
    }
    assert settings.request_interval_s is None  # each exchange at its own published rate
    assert settings.port == 50051
    assert settings.project is None
    assert settings.coins == DEFAULT_COINS
    assert settings.query_processes == 1


def test_every_variable_is_read_into_its_setting() -> None:
    env = {
        "DELOS_BACKEND": " GCP ",
        "GOOGLE_CLOUD_PROJECT": "delos-prod",
        "DELOS_DATA_DIR": "/var/delos",
        "DELOS_KRAKEN_URL": "http://127.0.0.1:8080/",
        "DELOS_BITSTAMP_URL": "http://127.0.0.1:8081",
        "DELOS_BITFINEX_URL": "http://127.0.0.1:8082",
        "DELOS_COINBASE_URL": "http://127.0.0.1:8083",
        "DELOS_BINANCE_URL": "https://127.0.0.1:8084",
        "DELOS_EXCHANGES": " Bitfinex,kraken,,bitfinex ",
        "DELOS_REQUEST_INTERVAL": "0",
        "DELOS_HTTP_TIMEOUT": "2.5",
        "DELOS_MAX_RETRIES": "0",
        "DELOS_RETRY_BACKOFF_MIN": "0.5",
        "DELOS_RETRY_BACKOFF_MAX": "4",
        "DELOS_RETRY_BUDGET": "6",
        "DELOS_COINS": "btc, eth,BTC,,",
        "DELOS_REFRESH_INTERVAL": "3600",
        "DELOS_HOST": "0.0.0.0",
        "PORT": "8080",
        "DELOS_TOPIC": "t",
        "DELOS_SUBSCRIPTION": "s",
        "DELOS_MAX_OUTSTANDING": "8",
        "DELOS_POLL_INTERVAL": "0.05",
        "DELOS_LOG_LEVEL": "debug",
        "DELOS_QUERY_PROCESSES": "64",
    }

    assert Settings.from_env(env) == Settings(
        backend="gcp",
        data_dir=Path("/var/delos"),
        exchanges=("bitfinex", "kraken"),
        exchange_urls={
            "kraken": "http://127.0.0.1:8080",
            "coinbase": "http://127.0.0.1:8083",
            "bitstamp": "http://127.0.0.1:8081",
            "bitfinex": "http://127.0.0.1:8082",
            "binance": "https://127.0.0.1:8084",
        },
        request_interval_s=0.0,
        http_timeout_s=2.5,
        max_retries=0,
        retry_backoff_min_s=0.5,
        retry_backoff_max_s=4.0,
        retry_budget_s=6.0,
        coins=("BTC", "ETH"),
        refresh_interval_s=3600.0,
        host="0.0.0.0",
        port=8080,
        project="delos-prod",
        topic="t",
        subscription="s",
        max_outstanding=8,
        poll_interval_s=0.05,
        log_level="DEBUG",
        query_processes=64,
    )


def test_an_empty_variable_means_its_default() -> None:
    settings = Settings.from_env({"DELOS_BACKEND": "", "PORT": "  ", "DELOS_COINS": " "})

    assert settings.backend == "embedded"
    assert settings.port == 50051
    assert settings.coins == DEFAULT_COINS


@pytest.mark.parametrize("project", [None, ""])
def test_the_gcp_backend_without_a_project_names_the_missing_variable(project: str | None) -> None:
    env = {"DELOS_BACKEND": "gcp"}
    if project is not None:
        env["GOOGLE_CLOUD_PROJECT"] = project

    with pytest.raises(SettingsError, match="GOOGLE_CLOUD_PROJECT"):
        Settings.from_env(env)


def test_an_unknown_backend_names_the_variable_and_the_choices() -> None:
    with pytest.raises(SettingsError, match="DELOS_BACKEND must be one of embedded, gcp, got 'aws'"):
        Settings.from_env({"DELOS_BACKEND": "aws"})


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("PORT", "http"),
        ("PORT", "70000"),
        ("PORT", "-1"),
        ("DELOS_HTTP_TIMEOUT", "0"),
        ("DELOS_HTTP_TIMEOUT", "nan"),
        ("DELOS_REQUEST_INTERVAL", "-0.5"),
        ("DELOS_MAX_RETRIES", "four"),
        ("DELOS_MAX_OUTSTANDING", "0"),
        ("DELOS_POLL_INTERVAL", "0.01"),
        ("DELOS_REFRESH_INTERVAL", "0.5"),
        ("DELOS_QUERY_PROCESSES", "65"),
        ("DELOS_QUERY_PROCESSES", "0"),
        ("DELOS_RETRY_BACKOFF_MIN", "-1"),
        ("DELOS_RETRY_BUDGET", "soon"),
    ],
)
def test_a_bad_number_names_its_variable_and_value(name: str, raw: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: raw})

    assert str(caught.value).startswith(f"{name} must be")
    assert repr(raw) in str(caught.value)


@pytest.mark.parametrize("raw", ["kraken,ftx", "mtgox", " , "])
def test_an_unknown_or_empty_exchange_list_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="DELOS_EXCHANGES"):
        Settings.from_env({"DELOS_EXCHANGES": raw})


@pytest.mark.parametrize(
    "raw", ["exchange.example", "ftp://exchange.example", "https://exchange.example/0/public", "https://"]
)
def test_an_exchange_url_is_a_scheme_and_host_only(raw: str) -> None:
    with pytest.raises(SettingsError, match="^DELOS_KRAKEN_URL must be a scheme and host"):
        Settings.from_env({"DELOS_KRAKEN_URL": raw})


def test_a_bad_coin_names_the_coins_variable() -> None:
    with pytest.raises(SettingsError, match="^DELOS_COINS: symbol 'BTC-USD' must be 2 to 12"):
        Settings.from_env({"DELOS_COINS": "ETH,BTC-USD"})


def test_a_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize("name", ["DELOS_MAX_RETRIES", "DELOS_MAX_OUTSTANDING"])
def test_an_infinite_count_names_its_variable(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: "inf"})


@pytest.mark.parametrize("name", ["DELOS_HTTP_TIMEOUT", "DELOS_REQUEST_INTERVAL", "DELOS_POLL_INTERVAL"])
def test_an_infinite_duration_names_its_variable(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: "1e400"})


def test_a_coin_list_with_no_coin_is_refused() -> None:
    with pytest.raises(SettingsError, match="DELOS_COINS"):
        Settings.from_env({"DELOS_COINS": ",,"})


def test_the_archive_is_the_shipped_folder_unless_set_elsewhere_or_set_empty_to_disable_it() -> None:
    shipped = Path(__file__).resolve().parents[2] / "archive"

    assert Settings.from_env({}).archive_dir == DEFAULT_ARCHIVE_DIR == shipped
    assert Settings.from_env({"DELOS_ARCHIVE_DIR": "/srv/delos-archive"}).archive_dir == Path("/srv/delos-archive")
    assert Settings.from_env({"DELOS_ARCHIVE_DIR": ""}).archive_dir is None
    assert Settings.from_env({"DELOS_ARCHIVE_DIR": "  "}).archive_dir is None


def test_a_retry_backoff_whose_cap_is_below_its_start_is_refused() -> None:
    with pytest.raises(SettingsError, match="DELOS_RETRY_BACKOFF_MAX must be at least DELOS_RETRY_BACKOFF_MIN"):
        Settings.from_env({"DELOS_RETRY_BACKOFF_MIN": "60", "DELOS_RETRY_BACKOFF_MAX": "30"})


def test_the_default_retry_budget_outlasts_a_fifteen_minute_outage() -> None:
    settings = Settings()

    assert settings.retry_budget_s >= 15 * 60
    assert settings.retry_backoff_max_s <= 600, "no longer than Pub/Sub's own ceiling"
