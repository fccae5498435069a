"""One loopback HTTP server for every fake exchange: threads, keep-alive, faults, hangs, rate limits, caching.

A fake for one exchange subclasses `FakeExchange` and says only what is its
own: how a path maps to an endpoint, the exchange's answers, and how it words
each fault and its rate-limit refusal. Adapters are tested against the wire
format, not a mock of their own code; the same servers back `--offline` and
the benchmarks.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import ClassVar, Self, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

from fake_exchange import wire
from fake_exchange.faults import Fault, FaultQueue, Injection
from fake_exchange.handler import Handler, Server
from fake_exchange.limits import RateLimit, Window
from fake_exchange.market import FakeMarket
from fake_exchange.wire import Reply

CACHE_ENTRIES = 512
T = TypeVar("T")
# How often serve_forever checks for shutdown: stop() waits up to this long.
POLL_S = 0.02
# Faults every fake words the same way (plain HTTP failures, a cut, a proxy page).
COMMON_FAULTS = frozenset(
    {Fault.HTTP_429, Fault.HTTP_500, Fault.HTTP_503, Fault.HANG, Fault.TRUNCATED_JSON, Fault.HTML}
)
# What a fake of a candle API adds, each worded in the exchange's own envelope (fault_reply) or candles.
DATA_FAULTS = COMMON_FAULTS | {
    Fault.RATE_LIMIT,
    Fault.SERVICE_UNAVAILABLE,
    Fault.INVALID_ARGUMENTS,
    Fault.VANISHED,
    Fault.NON_NUMERIC,
    Fault.NEGATIVE,
    Fault.EMPTY,
    Fault.REORDERED,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class FakeExchange:
    """A look-alike of one exchange serving `market`; `now` is injectable so that tests can freeze time.

    With `enforce_rate_limit`, requests beyond the exchange's published limit (or `rate_limit`)
    get the exchange's own rate-limit answer, as the real one would give.
    """

    exchange: ClassVar[str]
    published_limit: ClassVar[RateLimit]
    faults: ClassVar[frozenset[Fault]] = COMMON_FAULTS
    # Seconds every request is refused after one goes over the limit (Bitfinex blocks the IP for 60 s).
    penalty_s: ClassVar[float] = 0.0

    def __init__(
        self,
        market: FakeMarket,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], datetime] = utc_now,
        hang_s: float = 10.0,
        enforce_rate_limit: bool = False,
        rate_limit: RateLimit | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.market = market
        self._address = (host, port)
        self._now = now
        self._hang_s = hang_s
        self._monotonic = monotonic
        self.window = Window(rate_limit or self.published_limit) if enforce_rate_limit else None
        self._blocked_until = -math.inf
        self._faults = FaultQueue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._cache: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._per_version: dict[str, tuple[int, object]] = {}
        self._connections: set[socket.socket] = set()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # What a subclass words in its exchange's own terms.

    def endpoint(self, path: str) -> str | None:
        """The endpoint a path names (counted in `requests`, targeted by `inject`); None: no such path."""
        raise NotImplementedError

    def is_data(self, endpoint: str) -> bool:
        """Whether the endpoint serves candles or trades, the only ones data faults alter."""
        raise NotImplementedError

    def pair_names(self, path: str, params: Mapping[str, str]) -> tuple[str, ...]:
        """Every name of the pair a request is about, so that a fault can target it."""
        raise NotImplementedError

    def answer(self, endpoint: str, path: str, params: Mapping[str, str], fault: Fault | None) -> Reply:
        """The exchange's answer, altered by a data fault if one is given."""
        raise NotImplementedError

    def fault_reply(self, fault: Fault, retry_after_s: int) -> Reply | None:
        """The whole answer for a fault that replaces it; None for faults that alter the data."""
        return wire.http_fault(fault, retry_after_s)

    def rate_limited(self) -> Reply:
        """What the exchange answers to a request over its limit."""
        raise NotImplementedError

    def not_found(self) -> Reply:
        return wire.json_reply(wire.dumps({"message": "Not Found"}), 404)

    def request_weight(self, endpoint: str, params: Mapping[str, str]) -> int:
        """What a request costs against the limit (Binance weighs its endpoints); 1 elsewhere."""
        return 1

    # The server itself.

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`; only valid once started."""
        if self._server is None:
            raise RuntimeError(f"fake {self.exchange} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> Counter[str]:
        """How many requests each endpoint has received: a snapshot."""
        with self._lock:
            return Counter(self._requests)

    def start(self) -> str:
        """Listen and serve in a daemon thread; returns the base URL."""
        self._stopping.clear()
        self._server = Server(self._address, Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_S,), name=f"fake-{self.exchange}", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop at once, as a killed exchange would: no answer from now on, open connections cut (hung
        ones too), then the listening socket closed and the server thread joined.

        Cut first: shutdown() waits for the accept loop's next poll, and until then a kept-alive connection
        is still read, so the exchange would still answer requests sent after it was stopped.
        """
        self._stopping.set()
        self._cut_connections()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._cut_connections()  # any accepted while the accept loop was winding down
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def inject(
        self, fault: Fault, times: int = 1, *, path: str | None = None, pair: str | None = None, retry_after_s: int = 1
    ) -> None:
        """Produce `fault` on the next `times` matching requests (an endpoint name, a pair name)."""
        if fault not in self.faults:
            raise ValueError(f"fake {self.exchange} cannot produce {fault.name}")
        self._faults.add(Injection(fault, times, path, pair, retry_after_s))

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def _cut_connections(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):  # already closed by the peer
                    conn.shutdown(socket.SHUT_RDWR)

    def track_connection(self, conn: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def reply_to(self, target: str) -> Reply | None:
        """The answer to one GET; None to drop the connection without one, as every request once stop() began."""
        if self._stopping.is_set():
            return None
        reply = self._reply(target)
        return None if self._stopping.is_set() else reply  # built while stopping: never sent

    def _reply(self, target: str) -> Reply | None:
        url = urlsplit(target)
        params = {key: values[-1] for key, values in parse_qs(url.query).items()}
        endpoint = self.endpoint(url.path)
        if endpoint is None:
            return self.not_found()
        with self._lock:
            self._requests[endpoint] += 1
        if not self._admitted(endpoint, params):
            return self.rate_limited()
        injection = self._faults.take(endpoint, self.pair_names(url.path, params), data=self.is_data(endpoint))
        if injection is not None and injection.fault is Fault.HANG:
            # Bounded, and cut short by stop() so that shutdown never waits for it.
            if self._stopping.wait(self._hang_s):
                return None
            injection = None
        fault = injection.fault if injection is not None else None
        if injection is not None:
            replaced = self.fault_reply(injection.fault, injection.retry_after_s)
            if replaced is not None:
                return replaced
        reply = self.answer(endpoint, url.path, params, fault)
        if fault is Fault.TRUNCATED_JSON:
            status, body, content_type, headers = reply
            return status, body[: max(1, len(body) // 2)], content_type, headers
        return reply

    def _admitted(self, endpoint: str, params: Mapping[str, str]) -> bool:
        """Within the enforced limit, and not serving a penalty for going over it."""
        if self.window is None:
            return True
        now = self._monotonic()
        with self._lock:
            if now < self._blocked_until:
                return False
        if self.window.admit(now, self.request_weight(endpoint, params)):
            return True
        with self._lock:
            self._blocked_until = now + self.penalty_s
        return False

    def per_version(self, name: str, build: Callable[[], T]) -> T:
        """`build()` once per market version (the market bumps it on every change), e.g. a pair index."""
        version = self.market.version
        with self._lock:
            held = self._per_version.get(name)
            if held is not None and held[0] == version:
                return cast(T, held[1])
        value = build()
        with self._lock:
            self._per_version[name] = (version, value)
        return value

    def cache_entries(self) -> int:
        return CACHE_ENTRIES

    def cached(self, key: tuple[object, ...], build: Callable[[], bytes]) -> bytes:
        """A body built once per key (the key must change whenever the body would)."""
        with self._lock:
            body = self._cache.get(key)
            if body is not None:
                self._cache.move_to_end(key)
                return body
        body = build()
        with self._lock:
            self._cache[key] = body
            while len(self._cache) > self.cache_entries():
                self._cache.popitem(last=False)
        return body

    def now_unix(self) -> int:
        return int(self._now().timestamp())
