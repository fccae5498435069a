"""The HTTP side of every fake exchange: a threading server whose handler asks its fake for each GET's reply.

Keep-alive as the real APIs, headers and body in one write, and the fake's
open connections tracked so that stop() can cut hung ones.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fake_exchange.server import FakeExchange

IDLE_CONNECTION_S = 5.0


class Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeExchange


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections to the real APIs
    # Headers and body in one write: separate small writes on a keep-alive connection meet
    # Nagle's algorithm and the client's delayed ACK, costing ~40 ms per answer.
    wbufsize = -1
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_S
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.fake.track_connection(self.connection, open_=True)

    def finish(self) -> None:
        self.server.fake.track_connection(self.connection, open_=False)
        super().finish()

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        reply = self.server.fake.reply_to(self.path)
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
