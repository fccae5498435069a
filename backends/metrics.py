"""Metrics through OpenTelemetry: per-RPC latency and status, refreshes by outcome and exchange, stale coins.

Per-RPC counts and time by method and status are summed by the query service's guard, which times
every call already, and read at collection (query_service/call_stats.py explains why, and why not
through gRPC's own OpenTelemetry plugin).

DELOS_METRICS picks where they go:
  off  (default) nothing is collected: the OpenTelemetry API's no-op meter costs next to nothing;
  log  every EXPORT_INTERVAL_S, one structured log line per data point (message "metric NAME",
       fields `metric`, `attributes`, `value` or `count`/`sum`), so `DELOS_LOG_FORMAT=json` turns
       them into Cloud Logging entries;
  gcp  the same lines: in Cloud Run, Cloud Logging's log-based metrics (infra/monitoring.tf) turn
       them into Cloud Monitoring metrics, with no exporter library or extra API calls.

Instruments are created through the OpenTelemetry API (`metrics.get_meter`), so code that records
them never needs to know whether metrics are on. The SDK (backends/metrics_export.py) is imported
only when they are: it costs a start-up 60 ms and more, which a query service scaling out from
zero pays on every instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Meter, Observation
    from opentelemetry.sdk.metrics import MeterProvider

EXPORT_INTERVAL_S = 60.0
STALE_ALERT_AFTER_S = 2 * 86400.0  # infra/monitoring.tf alerts on any coin older than this


@dataclass
class Metrics:
    """A running metrics pipeline; shutdown() exports the last interval (call it at exit)."""

    provider: MeterProvider

    def shutdown(self) -> None:
        self.provider.shutdown()


def start_metrics(mode: str, *, interval_s: float = EXPORT_INTERVAL_S) -> Metrics | None:
    """Install the global meter provider for `mode`; None (and nothing installed, nothing imported) when off."""
    if mode == "off":
        return None
    from opentelemetry import metrics  # pylint: disable=import-outside-toplevel
    from opentelemetry.sdk.metrics import MeterProvider  # pylint: disable=import-outside-toplevel,redefined-outer-name
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # pylint: disable=import-outside-toplevel

    from backends.metrics_export import LogMetricExporter  # pylint: disable=import-outside-toplevel

    reader = PeriodicExportingMetricReader(LogMetricExporter(), export_interval_millis=interval_s * 1000)
    provider = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(provider)
    return Metrics(provider)


def observe_staleness(meter: Meter, as_of_seconds: Callable[[], Sequence[float]], now: Callable[[], float]) -> None:
    """Gauges of the coins being served: how many are older than two days, and the oldest one's age."""
    from opentelemetry.metrics import Observation  # pylint: disable=import-outside-toplevel,redefined-outer-name

    def stale(_options: CallbackOptions) -> Iterable[Observation]:
        current = now()
        yield Observation(sum(current - as_of > STALE_ALERT_AFTER_S for as_of in as_of_seconds()))

    def oldest(_options: CallbackOptions) -> Iterable[Observation]:
        values = as_of_seconds()
        if values:
            yield Observation(now() - min(values))

    meter.create_observable_gauge("delos.coins.stale", [stale], unit="{coin}", description="coins older than 2 days")
    meter.create_observable_gauge("delos.coins.oldest_age", [oldest], unit="s", description="age of the oldest coin")
