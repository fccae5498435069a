"""The grpc.aio server: both APIs, health, reflection, cache loading and graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer as AsyncReflectionServicer  # reflection.aio's

from common.errors import DelosError, Misconfigured, StoreDamaged
from common.ports import CoinFeed, Subscription
from delos.legacy import api_pb2 as legacy_pb
from delos.v1 import lambo_pb2 as pb
from query_service.cache import CoinCache
from query_service.guard import GenericOnly, add_guarded_service
from query_service.legacy import LegacyApiServicer
from query_service.servicer import LamboServicer

if TYPE_CHECKING:  # metrics on only: the server is handed one (query_service/__main__.py)
    from query_service.call_stats import CallStats

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    pb.DESCRIPTOR.services_by_name["LamboService"].full_name,
    legacy_pb.DESCRIPTOR.services_by_name["API"].full_name,
)
# Requests are a symbol and a few numbers; anything near this size is abuse.
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_CONCURRENT_RPCS = 2048
SHUTDOWN_GRACE_S = 5.0
# Between NOT_SERVING and closing the port: calls already sent are still answered, not cancelled,
# and load balancers watching health have time to look elsewhere.
DRAIN_S = 1.0
# How long the first read of every document may take before it is retried (1,000 long histories take ~1 s).
LOAD_TIMEOUT_S = 60.0
SERVER_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
    ("grpc.so_reuseport", 1),  # lets several processes share one port (see README: scaling)
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
)


@dataclass
class QueryService:
    """A started server and what it serves; `stop()` shuts it down gracefully."""

    server: grpc.aio.Server
    port: int
    cache: CoinCache
    health: health_aio.HealthServicer
    servicer: LamboServicer
    subscription: Subscription | None = None

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)

    async def stop(self, grace_s: float = SHUTDOWN_GRACE_S, drain_s: float = DRAIN_S) -> None:
        """Health NOT_SERVING first, drain, refuse new calls, let in-flight ones finish within the grace.

        Calls sent after the port closes get UNAVAILABLE. Those grpc core holds but has not yet handed
        to the aio server when `server.stop()` begins (the server asks core for one call per method at
        a time, so under load a few wait there) are ended by core with CANCELLED, not UNAVAILABLE
        (grpc/grpc#41785); no handler, guard or interceptor sees them, so none can answer them.
        """
        await self.health.enter_graceful_shutdown()
        await asyncio.sleep(drain_s)
        await self.server.stop(grace_s)
        if self.subscription is not None:
            await asyncio.to_thread(self.subscription.close)
        log.info("query service stopped")


async def start(
    host: str, port: int, cache: CoinCache | None = None, call_stats: CallStats | None = None
) -> QueryService:
    """Bind and start serving; health stays NOT_SERVING until the cache is loaded.

    With `call_stats`, every answered call of both APIs is counted there (metrics on).
    """
    cache = cache if cache is not None else CoinCache()
    server = grpc.aio.server(options=SERVER_OPTIONS, maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS)
    servicer = LamboServicer(cache)
    legacy = LegacyApiServicer(cache)
    # The two answer methods carry the traffic; every other method is found by name (see add_guarded_service).
    lambo, api = pb.DESCRIPTOR.services_by_name["LamboService"], legacy_pb.DESCRIPTOR.services_by_name["API"]
    add_guarded_service(server, servicer, lambo, registered=("AskLambo",), stats=call_stats)
    add_guarded_service(server, legacy, api, registered=("processRequest",), stats=call_stats)
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, GenericOnly(server))
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        AsyncReflectionServicer((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME)),
        GenericOnly(server),
    )
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as exc:  # grpc's only word for "address in use" or "cannot assign address"
        raise Misconfigured(f"cannot listen on {host}:{port} (in use, or not an address of this machine)") from exc
    await server.start()
    service = QueryService(server, bound, cache, health_servicer, servicer)
    await service.set_serving(False)
    log.info("query service listening on %s:%d", host, bound)
    return service


async def load_and_follow(
    service: QueryService,
    feed: CoinFeed,
    *,
    retry_s: float = 1.0,
    stopping: Callable[[], bool] = lambda: False,
    load_timeout_s: float = LOAD_TIMEOUT_S,
) -> None:
    """Load every document once and follow changes (retrying while the store is away); SERVING once loaded.

    A damaged store is raised, not retried: waiting cannot bring its data back.
    """
    while True:
        try:
            docs, subscription = await asyncio.to_thread(
                feed.follow, service.cache.take, service.cache.set_connected, load_timeout_s
            )
            break
        except StoreDamaged:
            raise
        except DelosError as exc:
            if stopping():
                return
            log.warning("cannot load the cache yet (%s); retrying in %.0f s", exc, retry_s)
            await asyncio.sleep(retry_s)
            retry_s = min(retry_s * 2, 30.0)
    service.subscription = subscription
    service.cache.update(docs)
    service.cache.loaded = True
    # The cache lives as long as the process: keep the collector from rescanning it on every request burst.
    gc.collect()
    gc.freeze()
    await service.set_serving(True)
    log.info("cache loaded: %d coins from %d documents read once; SERVING", len(service.cache), len(docs))
