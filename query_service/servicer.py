"""delos.v1.LamboService: answers from the in-memory cache only."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

import grpc

from common.errors import DelosError
from common.lambo import LAMBO_PRICE_USD, answer
from common.money import validate_amount
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from query_service import convert
from query_service.cache import CoinCache
from query_service.convert import SELL_CHOICES
from query_service.errors import status_for
from query_service.guard import GENERIC_MESSAGE
from query_service.questions import cached_coin, is_stale, listing_at

log = logging.getLogger(__name__)


async def abort(context: grpc.aio.ServicerContext[object, object], error: DelosError) -> None:
    """End the call with the status of a domain error (anything else is the guard's: see guard.py)."""
    code = status_for(error)
    if code is grpc.StatusCode.INTERNAL:
        log.error("unmapped domain error answering a request", exc_info=error)
    await context.abort(code, str(error) if code is not grpc.StatusCode.INTERNAL else GENERIC_MESSAGE)


class LamboServicer(pb_grpc.LamboServiceServicer):
    """Validates, looks up, computes. No I/O on the request path."""

    def __init__(self, cache: CoinCache) -> None:
        self.cache = cache
        # Aggregate counts only: users' amounts are never logged.
        self.calls: Counter[str] = Counter()

    async def AskLambo(  # noqa: N802 - gRPC method name
        self, request: pb.AskLamboRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.AskLamboResponse:
        self.calls["AskLambo"] += 1
        try:
            coin = cached_coin(self.cache, request.symbol)
            investment = validate_amount(request.investment_usd, "investment_usd")
            lambo_price = (
                validate_amount(request.lambo_price_usd, "lambo_price_usd")
                if request.HasField("lambo_price_usd")
                else LAMBO_PRICE_USD
            )
            choice = SELL_CHOICES.get(request.sell) or convert.sell_choice(request.sell)
            bought_at = listing_at(coin.doc, request.exchange) if request.HasField("exchange") else None
        except DelosError as exc:
            await abort(context, exc)
            raise  # unreachable: abort raises
        if bought_at is None:
            facts, template = coin.facts, coin.template
        else:
            facts, template = coin.for_listing(bought_at)
        told = answer(facts, investment, datetime.now(UTC), lambo_price, choice)
        response = convert.answer_message(template, told, request.sell)
        if not self.cache.connected:
            response.stale = True
        return response

    async def GetCoin(  # noqa: N802 - gRPC method name
        self, request: pb.GetCoinRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.Coin:
        self.calls["GetCoin"] += 1
        try:
            coin = cached_coin(self.cache, request.symbol)
        except DelosError as exc:
            await abort(context, exc)
            raise
        if not is_stale(self.cache, coin):
            return coin.coin
        response = pb.Coin()
        response.CopyFrom(coin.coin)
        response.stale = True
        return response

    async def ListCoins(  # noqa: N802 - gRPC method name
        self, request: pb.ListCoinsRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.ListCoinsResponse:
        self.calls["ListCoins"] += 1
        response = pb.ListCoinsResponse()
        for coin in self.cache.all():
            summary = response.coins.add()
            summary.CopyFrom(coin.summary)
            summary.stale = is_stale(self.cache, coin)
        return response
