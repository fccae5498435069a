"""Per-RPC metrics: calls to a real server on 127.0.0.1, counted by method and status, read by OpenTelemetry."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from query_service.cache import CoinCache
from query_service.call_stats import CallStats
from query_service.server import start
from tests.unit.test_query_api import document

ASK = "delos.v1.LamboService/AskLambo"
GET = "delos.v1.LamboService/GetCoin"
# Field 1 (symbol) announced as 255 bytes long with none following: not an AskLamboRequest.
UNPARSABLE = b"\x0a\xff\x01"

Points = dict[str, dict[tuple[str, str], Any]]


def collect(reader: InMemoryMetricReader) -> Points:
    """Every data point the reader collects now, by metric name and (method, status)."""
    points: Points = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data is not None else []:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    attributes = point.attributes or {}
                    key = (str(attributes["rpc.method"]), str(attributes["rpc.grpc.status_code"]))
                    points.setdefault(metric.name, {})[key] = point.value  # type: ignore[union-attr]
    return points


async def serve_calls(stats: CallStats | None) -> float:
    """Two good AskLambo calls, one unknown coin, one unparsable request and a GetCoin; returns the seconds taken."""
    cache = CoinCache()
    cache.update([document("BTC")])
    cache.loaded = True
    service = await start("127.0.0.1", 0, cache, call_stats=stats)
    await service.set_serving(True)
    began = time.perf_counter()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = pb_grpc.LamboServiceStub(channel)
            for _ in range(2):
                await stub.AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=1000), timeout=10)
            await stub.GetCoin(pb.GetCoinRequest(symbol="BTC"), timeout=10)
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await stub.AskLambo(pb.AskLamboRequest(symbol="NOPE", investment_usd=1000), timeout=10)
            assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
            # No serializer: the bytes go as they are.
            raw = channel.unary_unary(f"/{ASK}", request_serializer=None, response_deserializer=None)
            with pytest.raises(grpc.aio.AioRpcError) as garbled:
                await raw(UNPARSABLE, timeout=10)
            assert garbled.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await service.stop(0.5, drain_s=0)
    return time.perf_counter() - began


def test_every_answered_call_is_counted_and_timed_by_method_and_status() -> None:
    reader = InMemoryMetricReader()
    stats = CallStats()
    stats.observe(MeterProvider(metric_readers=[reader]).get_meter("test"))

    elapsed_s = asyncio.run(serve_calls(stats))
    first = collect(reader)

    expected_calls = {(ASK, "OK"): 2, (GET, "OK"): 1, (ASK, "NOT_FOUND"): 1, (ASK, "INVALID_ARGUMENT"): 1}
    assert first["rpc.server.calls"] == expected_calls
    assert first["rpc.server.call.time"].keys() == expected_calls.keys()
    assert 0 < sum(first["rpc.server.call.time"].values()) < elapsed_s
    longest = first["rpc.server.call.max_duration"]
    assert longest.keys() == expected_calls.keys()
    assert all(0 < seconds <= first["rpc.server.call.time"][key] for key, seconds in longest.items())

    # Counts and time are cumulative; the longest call is per collection, so none is reported without new calls.
    second = collect(reader)
    assert second["rpc.server.calls"] == expected_calls
    assert second["rpc.server.call.time"] == first["rpc.server.call.time"]
    assert "rpc.server.call.max_duration" not in second


def test_without_call_stats_the_same_calls_are_answered_and_nothing_is_counted() -> None:
    reader = InMemoryMetricReader()
    stats = CallStats()
    stats.observe(MeterProvider(metric_readers=[reader]).get_meter("test"))

    asyncio.run(serve_calls(None))  # metrics off: the server is built without stats

    assert collect(reader) == {}
