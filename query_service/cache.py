"""The query service's in-memory cache: every answerable coin, prepared for fast answers.

Written by the feed's listener thread, read by request handlers; each entry is
replaced whole (a single dict assignment), so a reader never sees a torn coin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from common import lambo
from common.candles import DAILY_MINUTES
from common.document import CoinDocument, is_improvement
from common.listings import ExchangeListing
from common.prices import Listing
from common.symbols import is_normal_symbol
from delos.v1 import lambo_pb2 as pb
from query_service import convert

log = logging.getLogger(__name__)


class PreparedCoin:
    """A document plus what about it does not depend on the question.

    What AskLambo needs is built at load (the domain's CoinFacts: sell
    prices and hindsight records; the response template); the chart-sized parts
    (GetCoin's history, the legacy graph) on first use, so a cold start stays fast.
    """

    __slots__ = ("doc", "facts", "template", "summary", "_coin", "_graph_data", "_at_listing")

    def __init__(self, doc: CoinDocument) -> None:
        self.doc = doc
        self.facts = lambo.prepare(doc)
        self.template = convert.answer_template(doc, self.facts.records)
        self.summary = pb.CoinSummary(
            symbol=doc.symbol,
            pair=doc.pair,
            as_of=convert.timestamp(doc.as_of),
            listing_date=convert.timestamp(doc.listing.date),
            listing_exchange=doc.exchange,
        )
        self._coin: pb.Coin | None = None
        self._graph_data: str | None = None
        self._at_listing: dict[ExchangeListing, tuple[lambo.CoinFacts, pb.AskLamboResponse]] = {}

    def for_listing(self, bought_at: ExchangeListing) -> tuple[lambo.CoinFacts, pb.AskLamboResponse]:
        """Facts and template for answers "as if bought at" another exchange's listing, built on first use.

        Preparing walks the coin's history once; keeping the result makes later such answers as cheap as
        the default one. A coin has a handful of listings, so this stays small.
        """
        found = self._at_listing.get(bought_at)
        if found is None:
            listing = Listing(bought_at.listing_date, bought_at.listing_price_usd, DAILY_MINUTES, False)
            facts = lambo.prepare(self.doc, listing)
            template = convert.answer_template(self.doc, facts.records)
            convert.use_listing(template, bought_at)
            found = self._at_listing[bought_at] = (facts, template)
        return found

    @property
    def coin(self) -> pb.Coin:
        if self._coin is None:
            self._coin = convert.coin_message(self.doc, self.facts.records)
        return self._coin

    @property
    def graph_data(self) -> str:
        if self._graph_data is None:
            self._graph_data = convert.graph_data(self.doc)
        return self._graph_data


class CoinCache:
    """Symbol -> PreparedCoin; `connected` is False while the store cannot be reached."""

    def __init__(self) -> None:
        self._coins: dict[str, PreparedCoin] = {}
        # The dict's own method: looked up on every request, it costs no Python call of its own.
        self.get: Callable[[str], PreparedCoin | None] = self._coins.get
        self.loaded = False
        self.connected = True

    def all(self) -> list[PreparedCoin]:
        return [self._coins[s] for s in sorted(self._coins)]

    def __len__(self) -> int:
        return len(self._coins)

    def update(self, docs: Iterable[CoinDocument]) -> int:
        """Take newer documents; an older one (e.g. a late listener event) never replaces a newer."""
        taken = 0
        for doc in docs:
            current = self._coins.get(doc.symbol)
            if current is not None and (doc == current.doc or not is_improvement(doc, current.doc)):
                continue  # a listener replaying what is already here, or something older
            if not is_normal_symbol(doc.symbol):
                log.warning("ignoring document with a symbol no request can name: %r", doc.symbol[:20])
                continue
            try:
                self._coins[doc.symbol] = PreparedCoin(doc)
                taken += 1
            except (ValueError, ArithmeticError) as exc:
                log.warning("ignoring unusable document for %s: %s", doc.symbol, exc)
        return taken

    def take(self, docs: list[CoinDocument]) -> None:
        """Listener callback: apply changed documents."""
        self.update(docs)

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            log.warning("store %s", "reachable again" if connected else "unreachable: answering from memory, stale")
        self.connected = connected
