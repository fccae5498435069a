"""DELOS_METRICS=log|gcp: the OpenTelemetry SDK exporter that writes every data point as one log line.

Imported only when metrics are on (backends/metrics.py says why and where the lines go).
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
)

log = logging.getLogger("delos.metrics")


class LogMetricExporter(MetricExporter):
    """Writes each data point as one log line; the log handler makes it JSON for Cloud Logging."""

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        log.info("metric %s", metric.name, extra=_fields(metric.name, point))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing buffered: every export is written at once."""


def _fields(name: str, point: object) -> dict[str, Any]:
    fields: dict[str, Any] = {"metric": name, "attributes": dict(getattr(point, "attributes", None) or {})}
    if isinstance(point, HistogramDataPoint):
        fields |= {"count": point.count, "sum": point.sum, "max": point.max}
    elif isinstance(point, NumberDataPoint):
        fields["value"] = point.value
    return fields
