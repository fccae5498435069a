"""The original `API.processRequest`, wire-compatible, answered with Delos's definitions.

Unlike the original, failures are gRPC status codes, never an OK carrying error text. The answer is
encoded as the original's clients decode it (rounding, a twice-encoded chart): see convert.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import grpc

from common.errors import DelosError, InvalidRequest
from common.lambo import LAMBO_PRICE_USD, SellChoice, answer
from delos.legacy import api_pb2 as legacy_pb
from delos.legacy import api_pb2_grpc as legacy_grpc
from query_service import convert
from query_service.cache import CoinCache
from query_service.questions import cached_coin
from query_service.servicer import abort


class LegacyApiServicer(legacy_grpc.APIServicer):
    """`processRequest(symbol, investment)` -> JSON message and JSON chart points."""

    def __init__(self, cache: CoinCache) -> None:
        self.cache = cache
        self.calls: Counter[str] = Counter()

    async def processRequest(  # noqa: N802 - the original API's method name
        self, request: legacy_pb.apiRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> legacy_pb.apiResponse:
        self.calls["processRequest"] += 1
        try:
            coin = cached_coin(self.cache, request.symbol)
            if request.investment <= 0:
                raise InvalidRequest(f"investment must be a positive whole number of USD, got {request.investment}")
        except DelosError as exc:
            await abort(context, exc)
            raise
        now = datetime.now(UTC)
        done = answer(coin.facts, request.investment, now, lambo_price_usd=LAMBO_PRICE_USD, sell=SellChoice.MEAN)
        message = convert.legacy_message(done, request.investment, coin.doc.symbol, now)
        return legacy_pb.apiResponse(message=message, graph_data=coin.graph_data)
