"""Metrics: the log exporter's lines, the stale-coin gauges, and the setting that turns them on."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from backends import metrics as delos_metrics
from backends.metrics import STALE_ALERT_AFTER_S, start_metrics
from backends.metrics_export import LogMetricExporter
from common.settings import Settings, SettingsError

NOW = 1_800_000_000.0


def exported(caplog: pytest.LogCaptureFixture, record: object) -> list[logging.LogRecord]:
    reader = PeriodicExportingMetricReader(LogMetricExporter(), export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    with caplog.at_level(logging.INFO, logger="delos.metrics"):
        record(provider.get_meter("test"))  # type: ignore[operator]
        provider.force_flush()
    provider.shutdown()
    return [r for r in caplog.records if r.name == "delos.metrics"]


def test_a_histogram_point_is_one_line_with_its_attributes_count_and_sum(caplog: pytest.LogCaptureFixture) -> None:
    def record(meter: object) -> None:
        histogram = meter.create_histogram("delos.refresh.duration", unit="ms")  # type: ignore[attr-defined]
        for value in (1.0, 3.0):
            histogram.record(value, {"exchange": "kraken"})

    (line,) = exported(caplog, record)
    assert line.getMessage() == "metric delos.refresh.duration"
    assert line.metric == "delos.refresh.duration"  # type: ignore[attr-defined]
    assert line.attributes == {"exchange": "kraken"}  # type: ignore[attr-defined]
    assert (line.count, line.sum, line.max) == (2, 4.0, 3.0)  # type: ignore[attr-defined]


def test_counters_by_outcome_and_exchange_are_one_line_each(caplog: pytest.LogCaptureFixture) -> None:
    def record(meter: object) -> None:
        counter = meter.create_counter("delos.refreshes")  # type: ignore[attr-defined]
        counter.add(2, {"outcome": "refreshed", "exchange": "kraken"})
        counter.add(1, {"outcome": "retry", "exchange": "kraken"})

    lines = exported(caplog, record)
    assert sorted((r.attributes["outcome"], r.value) for r in lines) == [("refreshed", 2), ("retry", 1)]  # type: ignore[attr-defined]


def test_stale_gauges_count_coins_older_than_two_days_and_the_oldest_age(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ages = [3600.0, STALE_ALERT_AFTER_S + 60, STALE_ALERT_AFTER_S + 7200]

    def record(meter: Meter) -> None:
        delos_metrics.observe_staleness(meter, lambda: [NOW - age for age in ages], lambda: NOW)

    lines = {r.metric: r.value for r in exported(caplog, record)}  # type: ignore[attr-defined]
    assert lines == {"delos.coins.stale": 2, "delos.coins.oldest_age": STALE_ALERT_AFTER_S + 7200}


def test_metrics_are_off_unless_asked_and_the_setting_is_checked() -> None:
    assert Settings.from_env({}).metrics == "off"
    assert Settings.from_env({"DELOS_METRICS": "GCP"}).metrics == "gcp"
    with pytest.raises(SettingsError, match="DELOS_METRICS"):
        Settings.from_env({"DELOS_METRICS": "prometheus"})
    assert start_metrics("off") is None


def test_the_metrics_sdk_is_not_imported_while_metrics_are_off() -> None:
    # A fresh interpreter: this one has imported the SDK for the tests above.
    code = (
        "import sys; import query_service.__main__, backends.metrics as m; assert m.start_metrics('off') is None; "
        "print(sorted(n for n in sys.modules if n.startswith('opentelemetry.sdk')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
