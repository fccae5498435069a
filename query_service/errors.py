"""Domain errors -> gRPC status codes, in one table."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from common.errors import DelosError, InvalidRequest, NotCached, NotReady

STATUS_FOR: Mapping[type[DelosError], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    NotCached: grpc.StatusCode.NOT_FOUND,
    NotReady: grpc.StatusCode.UNAVAILABLE,
}


def status_for(error: DelosError) -> grpc.StatusCode:
    """The status of a domain error; anything unmapped is the service's fault, never the caller's."""
    for kind, code in STATUS_FOR.items():
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL
