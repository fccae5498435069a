"""Run one fake exchange in the foreground: `python -m fake_exchange [--exchange kraken] --port 0 [--coins N]`.

The first line on stdout is the base URL, so that a parent process can start
it on port 0 and read where it listens. SIGTERM or SIGINT stops it cleanly.
`--enforce-rate-limit` makes it refuse requests over the exchange's published
limit with that exchange's own answer (for benchmarks against the real floor).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType

from fake_exchange.market import DEFAULT_SEED, sample_market, synthetic_market
from fake_exchange.registry import FAKES, fake_class


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the sample dozen coins, plus `--coins` synthetic ones, until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m fake_exchange", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--coins", type=int, default=0, help="synthetic coins C0001... to list besides the sample")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the synthetic prices")
    parser.add_argument("--exchange", choices=sorted(FAKES), default="kraken", help="whose format to speak")
    parser.add_argument("--enforce-rate-limit", action="store_true", help="refuse requests over the published limit")
    args = parser.parse_args(argv)
    if args.coins < 0:
        parser.error("--coins must not be negative")

    now = datetime.now(UTC)
    market = sample_market(now, seed=args.seed)
    for coin in synthetic_market(args.coins, now, seed=args.seed):
        market.add(coin)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with fake_class(args.exchange)(
        market, host=args.host, port=args.port, enforce_rate_limit=args.enforce_rate_limit
    ) as fake:
        print(fake.base_url, flush=True)
        # wait() with a timeout keeps the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
