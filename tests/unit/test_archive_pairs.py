"""Archive pair names carry the archived exchange, in one format both sides share."""

from __future__ import annotations

from common.archive_pairs import archive_pair_name, archived_market


def test_an_archive_pair_name_carries_its_exchange_and_a_live_name_does_not() -> None:
    name = archive_pair_name("mtgox", "BTC", "USD")

    assert name == "mtgox:BTC-USD"
    assert archived_market(name) == "mtgox"
    assert archived_market("tDOGE:USD") is None
    assert archived_market("XXBTZUSD") is None
    assert archived_market(":BTC-USD") is None
