"""delos.v1.LamboService: answers from the in-memory cache only."""

from __future__ import annotations

import logging
from collections import Counter

import grpc

from common.errors import DelosError
from common.lambo import LAMBO_PRICE_USD, trade, verdict
from common.money import validate_amount
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from query_service import convert
from query_service.cache import CoinCache
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
            choice = convert.sell_choice(request.sell)
            bought_at = listing_at(coin.doc, request.exchange) if request.HasField("exchange") else None
        except DelosError as exc:
            await abort(context, exc)
            raise  # unreachable: abort raises
        price = coin.sell_prices[choice]
        listing_price = coin.doc.listing.price_usd if bought_at is None else bought_at.listing_price_usd
        done = trade(listing_price, price, investment, lambo_price)
        response = pb.AskLamboResponse()
        response.CopyFrom(coin.template)
        if bought_at is not None:
            convert.use_listing(response, bought_at)
        response.coins_bought = done.coins_bought
        response.sell_price_usd = price
        response.sell = request.sell or pb.SELL_PRICE_MEAN_CLOSE
        response.proceeds_usd = done.proceeds_usd
        response.profit_usd = done.profit_usd
        response.growth_factor = done.growth_factor
        response.lambo_price_usd = lambo_price
        response.lambos = done.lambos
        response.can_buy_lambo = done.can_buy_lambo
        response.breakeven_investment_usd = done.breakeven_investment_usd
        response.stale = is_stale(self.cache, coin)
        response.verdict = verdict(coin.doc.symbol, investment, done.proceeds_usd, done.lambos, lambo_price)
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
