"""The floor Delos is measured against: a bare grpc.aio LamboService whose AskLambo returns one stored answer.

It parses each request and serializes a ready AskLamboResponse through the
generated code, with the query service's server options: everything a gRPC
server in this style must do, and nothing of Delos's own work. The answer is
one Delos gave, so both servers send responses of the same size.

`python -m bench.baseline_server PORT RESPONSE_FILE` serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import grpc

from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from query_service.server import MAX_CONCURRENT_RPCS, SERVER_OPTIONS

# The line that says the port bound, for the benchmark that started this server.
LISTENING = re.compile(r"baseline listening on [^\s]+:(\d+)")


class PrecomputedLambo(pb_grpc.LamboServiceServicer):
    """Answers every AskLambo with the same message; the other methods answer UNIMPLEMENTED."""

    def __init__(self, response: pb.AskLamboResponse) -> None:
        self.response = response

    async def AskLambo(  # noqa: N802 - gRPC method name
        self, request: pb.AskLamboRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.AskLamboResponse:
        return self.response


async def serve(port: int, response: pb.AskLamboResponse) -> None:
    """Serve on 127.0.0.1:`port` until a termination signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = grpc.aio.server(options=SERVER_OPTIONS, maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS)
    # GetCoin and ListCoins are left to the generated base class (UNIMPLEMENTED): they are not measured.
    servicer = PrecomputedLambo(response)  # type: ignore[abstract]
    pb_grpc.add_LamboServiceServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"baseline listening on 127.0.0.1:{bound}", flush=True)  # port 0 binds any: the caller reads which
    await stop.wait()
    await server.stop(1.0)


def main(argv: list[str]) -> int:
    port, response_file = int(argv[0]), Path(argv[1])
    asyncio.run(serve(port, pb.AskLamboResponse.FromString(response_file.read_bytes())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
