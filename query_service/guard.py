"""The last line of defence of every RPC: an unexpected exception becomes INTERNAL, with no text of its own.

Handlers map the errors they expect (see errors.py); this catches what they do
not, such as arithmetic failing on a document, which grpc would otherwise
report as UNKNOWN with the exception's text in the status details. Requests
whose bytes are not the expected message get INVALID_ARGUMENT the same way:
left to grpc, a parse failure is UNKNOWN with protobuf's error text. With metrics
on, it also counts every answered call by method and status (call_stats.py).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message

if TYPE_CHECKING:  # metrics on only: the server is handed one (query_service/__main__.py)
    from query_service.call_stats import CallStats

log = logging.getLogger(__name__)

GENERIC_MESSAGE = "internal error; it has been logged"

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


class _Unparsable:
    """Stands for a request whose bytes did not parse."""


UNPARSABLE = _Unparsable()


def _lenient(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError:
            return UNPARSABLE

    return deserialize


def add_guarded_service(
    server: grpc.aio.Server,
    servicer: object,
    service: ServiceDescriptor,
    registered: Collection[str] = (),
    stats: CallStats | None = None,
) -> None:
    """Add `servicer`'s unary methods for `service`, each wrapped once (nothing added per call).

    Only the methods named in `registered` are registered with grpc core; the others are found
    through the service's generic handler. grpc.aio's serving loop keeps one pending request per
    registered method and waits on all of them (asyncio.wait) for every call it accepts, so each
    registered method costs every call a little; a registered method saves its own calls only a
    lookup by name. Register the methods that carry the traffic, nothing else.

    With `stats` (metrics on), every answered call is counted there by method and status.
    """
    handlers = {}
    for method in service.methods:
        request_type = message_factory.GetMessageClass(method.input_type)
        rpc = f"{service.full_name}/{method.name}"
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _guarded(getattr(servicer, method.name), rpc, method.input_type.name, stats),
            request_deserializer=_lenient(request_type.FromString),
            response_serializer=_serialize,
        )
    unknown = set(registered) - set(handlers)
    if unknown:
        raise ValueError(f"{service.full_name} has no method {sorted(unknown)}")
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    if registered:
        hot = {name: handler for name, handler in handlers.items() if name in registered}
        server.add_registered_method_handlers(service.full_name, hot)  # type: ignore[attr-defined]


class GenericOnly:
    """A server, as seen by a generated `add_*_to_server` function, that takes generic handlers only.

    For services called rarely (health, reflection): see add_guarded_service for what every
    registered method costs each call.
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, _service: str, _handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        """Registration is declined: found by name through the generic handler instead."""


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _guarded(method: Handler, rpc: str, request_name: str, stats: CallStats | None) -> Handler:
    # Decided once, when the server is built (logging is set up before it): with metrics off and OK
    # calls not logged, an OK call records nothing, so it costs one clock read.
    log_ok_calls = log.isEnabledFor(logging.DEBUG)
    count = stats.add if stats is not None else None
    clock = time.perf_counter
    ok = grpc.StatusCode.OK

    @functools.wraps(method)
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started = clock()
        try:
            if request is UNPARSABLE:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"the request is not a valid {request_name} message"
                )
            response = await method(request, context)
        except grpc.aio.AbortError:  # the handler chose its status already
            _end_call(rpc, context.code() or grpc.StatusCode.UNKNOWN, started, count)
            raise
        except Exception:
            status = grpc.StatusCode.INTERNAL
            log.exception("unexpected error in %s", rpc, extra={"rpc": rpc, "status": status.name})
            _end_call(rpc, status, started, count)
            await context.abort(status, GENERIC_MESSAGE)
            raise  # unreachable: abort raises
        if count is not None:
            count(rpc, "OK", clock() - started)
        if log_ok_calls:
            _log_call(rpc, ok, started)
        return response

    return call


def _end_call(
    rpc: str, status: grpc.StatusCode, started: float, count: Callable[[str, str, float], None] | None
) -> None:
    """Count and log a call that did not end OK."""
    if count is not None:
        count(rpc, status.name, time.perf_counter() - started)
    _log_call(rpc, status, started)


def _log_call(rpc: str, status: grpc.StatusCode, started: float) -> None:
    """One line per answered RPC: DEBUG when OK (Cloud Run logs requests already), INFO otherwise.

    Only the method, the status and the time: never the request, which holds investment amounts.
    """
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    level = logging.DEBUG if status is grpc.StatusCode.OK else logging.INFO
    if log.isEnabledFor(level):
        fields = {"rpc": rpc, "status": status.name, "duration_ms": duration_ms}
        log.log(level, "%s %s in %.2f ms", rpc, status.name, duration_ms, extra=fields)
