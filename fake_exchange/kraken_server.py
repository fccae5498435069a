"""FakeKraken: Kraken's public AssetPairs and OHLC endpoints over real HTTP on 127.0.0.1, with injectable faults.

Adapters are tested against the wire format, not against a mock of their own
code; the same server backs the app's offline mode and the benchmarks.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_exchange import wire
from fake_exchange.faults import Fault, FaultQueue, Injection
from fake_exchange.market import FakeMarket
from fake_exchange.ohlc import DAILY_MINUTES, DAY_S, KRAKEN_INTERVALS, ohlc_answer
from fake_exchange.wire import Reply

__all__ = ["FakeKraken", "Fault"]

PREFIX = "/0/public/"
CACHE_ENTRIES = 512
IDLE_CONNECTION_S = 5.0
# How often serve_forever checks for shutdown: stop() waits up to this long.
POLL_S = 0.02


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeKraken


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections to the real API
    # Headers and body in one write: separate small writes on a keep-alive connection meet
    # Nagle's algorithm and the client's delayed ACK, costing ~40 ms per answer.
    wbufsize = -1
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_S
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, open_=False)
        super().finish()

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        reply = self.server.fake._reply(self.path)
        if reply is None:
            self.close_connection = True
            return
        status, body, content_type, headers = reply
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (e.g. timed out during a HANG)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Quiet: tests and benchmarks would drown in access logs."""


class FakeKraken:
    """A Kraken look-alike serving `market`; `now` is injectable so that tests can freeze time."""

    def __init__(
        self,
        market: FakeMarket,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], datetime] = _utc_now,
        hang_s: float = 10.0,
    ) -> None:
        self.market = market
        self._address = (host, port)
        self._now = now
        self._hang_s = hang_s
        self._faults = FaultQueue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._cache: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`; only valid once started."""
        if self._server is None:
            raise RuntimeError("FakeKraken is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> Counter[str]:
        """How many requests each endpoint (AssetPairs, OHLC, ...) has received: a snapshot."""
        with self._lock:
            return Counter(self._requests)

    def start(self) -> str:
        """Listen and serve in a daemon thread; returns the base URL."""
        self._stopping.clear()
        self._server = _Server(self._address, _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_S,), name="fake-kraken", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving, cut open connections (hung ones too) and join the server thread."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):  # already closed by the peer
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeKraken:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def inject(
        self, fault: Fault, times: int = 1, *, path: str | None = None, pair: str | None = None, retry_after_s: int = 1
    ) -> None:
        """Produce `fault` on the next `times` matching requests (path "OHLC"/"AssetPairs", pair name or altname)."""
        self._faults.add(Injection(fault, times, path, pair, retry_after_s))

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def _track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _reply(self, target: str) -> Reply | None:
        """The answer to one GET; None to drop the connection without one."""
        url = urlsplit(target)
        params = {key: values[-1] for key, values in parse_qs(url.query).items()}
        endpoint = url.path.removeprefix(PREFIX)
        with self._lock:
            self._requests[endpoint] += 1
        if endpoint not in ("AssetPairs", "OHLC"):
            return wire.kraken_error(404, "EGeneral:Unknown method")
        coin = self.market.find(params.get("pair", ""))
        names = (params.get("pair", ""),) + ((coin.pair_name, coin.altname) if coin else ())
        injection = self._faults.take(endpoint, names)
        if injection is not None and injection.fault is Fault.HANG:
            # Bounded, and cut short by stop() so that shutdown never waits for it.
            if self._stopping.wait(self._hang_s):
                return None
            injection = None
        fault = injection.fault if injection is not None else None
        if injection is not None:
            replaced = wire.fault_reply(injection.fault, injection.retry_after_s)
            if replaced is not None:
                return replaced
        reply = self._asset_pairs(params) if endpoint == "AssetPairs" else self._ohlc(params, fault)
        if fault is Fault.TRUNCATED_JSON:
            status, body, content_type, headers = reply
            return status, body[: max(1, len(body) // 2)], content_type, headers
        return reply

    def _cached(self, key: tuple[object, ...], build: Callable[[], bytes]) -> bytes:
        with self._lock:
            body = self._cache.get(key)
            if body is not None:
                self._cache.move_to_end(key)
                return body
        body = build()
        with self._lock:
            self._cache[key] = body
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return body

    def _asset_pairs(self, params: dict[str, str]) -> Reply:
        wanted = [name for name in params.get("pair", "").split(",") if name]
        coins = [self.market.find(name) for name in wanted] if wanted else list(self.market)
        if any(coin is None for coin in coins):
            return wire.kraken_error(200, "EQuery:Unknown asset pair")
        key = ("AssetPairs", self.market.version, tuple(wanted))
        body = self._cached(key, lambda: wire.asset_pairs_body([c for c in coins if c is not None]))
        return wire.json_reply(body)

    def _ohlc(self, params: dict[str, str], fault: Fault | None) -> Reply:
        try:
            interval = int(params.get("interval", "1"))
            since = int(params["since"]) if "since" in params else None
        except ValueError:
            return wire.kraken_error(200, "EGeneral:Invalid arguments")
        if "pair" not in params or interval not in KRAKEN_INTERVALS:
            return wire.kraken_error(200, "EGeneral:Invalid arguments")
        coin = self.market.find(params["pair"])
        if coin is None:
            return wire.kraken_error(200, "EQuery:Unknown asset pair")
        now_unix = int(self._now().timestamp())

        def build() -> bytes:
            answer = ohlc_answer(coin.daily, interval, now_unix, since)
            return wire.ohlc_body(coin.pair_name, answer, fault)

        if (fault is not None and fault is not Fault.TRUNCATED_JSON) or interval < DAILY_MINUTES:
            return wire.json_reply(build())
        # Visible candles change only at day boundaries, so the day is part of the key, not the second.
        key = ("OHLC", self.market.version, coin.pair_name, interval, since, now_unix - now_unix % DAY_S)
        return wire.json_reply(self._cached(key, build))
