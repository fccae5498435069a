"""The AskLambo handler's own cost per call: the servicer coroutine awaited directly, no network, no gRPC core.

Throughput over loopback mixes the handler with HTTP/2 framing and the event
loop; this figure isolates what Delos itself spends answering one question,
so a change to the answer (more fields, more arithmetic) shows up undiluted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from common.document import CoinDocument
from delos.v1 import lambo_pb2 as pb
from query_service.cache import CoinCache
from query_service.servicer import LamboServicer

CALLS = 20_000
ROUNDS = 5


class _NoContext:
    """Stands in for the gRPC context: a valid question never touches it."""


async def _time_calls(servicer: LamboServicer, requests: Sequence[pb.AskLamboRequest], calls: int) -> float:
    context: object = _NoContext()
    started = time.perf_counter()
    for i in range(calls):
        await servicer.AskLambo(requests[i % len(requests)], context)  # type: ignore[arg-type]
    return time.perf_counter() - started


def handler_us_per_call(docs: Sequence[CoinDocument], calls: int = CALLS, rounds: int = ROUNDS) -> float:
    """Microseconds per AskLambo call on a cache holding `docs`: the best of `rounds` runs of `calls` calls."""
    cache = CoinCache()
    cache.update(docs)
    cache.loaded = True
    servicer = LamboServicer(cache)
    requests = [
        pb.AskLamboRequest(symbol=doc.symbol, investment_usd=1000.0 + i, sell=sell)
        for i, doc in enumerate(docs[:64])
        for sell in (pb.SELL_PRICE_MEAN_CLOSE, pb.SELL_PRICE_LATEST_CLOSE)
    ]
    best = min(asyncio.run(_time_calls(servicer, requests, calls)) for _ in range(rounds))
    return best / calls * 1e6
