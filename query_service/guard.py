"""The last line of defence of every RPC: an unexpected exception becomes INTERNAL, with no text of its own.

Handlers map the errors they expect (see errors.py); this catches what they do
not, such as arithmetic failing on a document, which grpc would otherwise
report as UNKNOWN with the exception's text in the status details.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

log = logging.getLogger(__name__)

GENERIC_MESSAGE = "internal error; it has been logged"

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def guard_methods(servicer: object, service: ServiceDescriptor) -> None:
    """Wrap each of `service`'s methods on `servicer`; call before registering it (bound once, not per call)."""
    for name in service.methods_by_name:
        setattr(servicer, name, _guarded(getattr(servicer, name), f"{service.full_name}/{name}"))


def _guarded(method: Handler, rpc: str) -> Handler:
    @functools.wraps(method)
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await method(request, context)
        except grpc.aio.AbortError:  # the handler chose its status already
            raise
        except Exception:
            log.exception("unexpected error in %s", rpc)
            await context.abort(grpc.StatusCode.INTERNAL, GENERIC_MESSAGE)
            raise  # unreachable: abort raises

    return call
