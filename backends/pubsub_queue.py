"""The refresh queue on Google Cloud Pub/Sub: publish to a topic, streaming pull from its subscription.

Pub/Sub already gives what the port promises (at-least-once, lease extension
while a handler runs, redelivery of nacked or abandoned messages, dead-lettering
by subscription policy), so this adapter only translates between Delivery and
Message and bounds every wait.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from google.api_core import exceptions
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient
from google.cloud.pubsub_v1.types import FlowControl

from common.errors import StoreUnavailable
from common.ports import Delivery, Verdict

LEASE_EXTENSION_S = 20
MAX_LEASE_S = 600  # far above a coin's worst case (a few requests, retries, 10 s timeouts)
log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 30.0
ADMIN_TIMEOUT_S = 30.0
WATCH_INTERVAL_S = 0.5
MAX_RESUBSCRIBE_BACKOFF_S = 30.0


class PubSubRefreshQueue:
    """RefreshQueue over one Pub/Sub topic and its subscription."""

    def __init__(
        self,
        project: str,
        topic: str,
        subscription: str,
        *,
        max_outstanding: int = 2,
        shutdown_timeout_s: float = 8.0,
    ) -> None:
        self.max_outstanding = max_outstanding
        self.shutdown_timeout_s = shutdown_timeout_s
        self._publisher = PublisherClient()
        self.topic_path: str = self._publisher.topic_path(project, topic)
        self.subscription_path: str = SubscriberClient.subscription_path(project, subscription)

    def publish(self, body: bytes, attributes: Mapping[str, str] | None = None) -> str:
        """Publish and wait (bounded) for the server's message id; StoreUnavailable if it does not come."""
        try:
            future = self._publisher.publish(self.topic_path, body, **dict(attributes or {}))
            return str(future.result(timeout=PUBLISH_TIMEOUT_S))
        except (exceptions.GoogleAPICallError, exceptions.RetryError, concurrent.futures.TimeoutError) as exc:
            raise StoreUnavailable(f"cannot publish to {self.topic_path}: {exc}") from exc

    def consume(self, handler: Callable[[Delivery], Verdict], stop: threading.Event) -> None:
        """Stream messages to `handler` until `stop` is set; a broken stream is reopened with backoff."""

        def callback(message: Any) -> None:
            delivery = Delivery(
                message_id=message.message_id,
                body=message.data,
                attributes=dict(message.attributes),
                # Pub/Sub reports attempts only on subscriptions with a dead-letter policy.
                delivery_attempt=message.delivery_attempt or 1,
            )
            try:
                verdict = handler(delivery)
            except Exception:
                log.exception("refresh handler failed on message %s; nacking", delivery.message_id)
                verdict = Verdict.NACK
            # Ack only once the handler has returned: a crash before this line means redelivery.
            if verdict is Verdict.ACK:
                message.ack()
            else:
                message.nack()

        subscriber = SubscriberClient()
        # Short lease extensions: a crashed worker's messages come back within LEASE_EXTENSION_S,
        # not after the client library's default of up to 10 minutes.
        flow_control = FlowControl(
            max_messages=self.max_outstanding,
            max_lease_duration=MAX_LEASE_S,
            max_duration_per_lease_extension=LEASE_EXTENSION_S,
        )
        backoff_s = 1.0
        try:
            while not stop.is_set():
                future = subscriber.subscribe(
                    self.subscription_path, callback, flow_control=flow_control, await_callbacks_on_shutdown=True
                )
                while not stop.wait(WATCH_INTERVAL_S) and not future.done():
                    backoff_s = 1.0
                if stop.is_set():
                    self._shut_down(future)
                    return
                log.warning("streaming pull on %s ended (%s); reopening", self.subscription_path, _outcome(future))
                stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, MAX_RESUBSCRIBE_BACKOFF_S)
        finally:
            subscriber.close()

    def _shut_down(self, future: Any) -> None:
        """Stop pulling, let running handlers finish (bounded); undispatched messages are nacked by the client."""
        future.cancel()
        try:
            future.result(timeout=self.shutdown_timeout_s)
        except concurrent.futures.TimeoutError:
            log.warning(
                "refresh handlers still running after %.0f s; their messages will be redelivered",
                self.shutdown_timeout_s,
            )
        except Exception as exc:
            log.info("streaming pull closed: %s", exc)

    def close(self) -> None:
        """Flush and close the publisher (consume closes its own subscriber)."""
        self._publisher.stop()


def _outcome(future: Any) -> str:
    try:
        future.result(timeout=0)
    except Exception as exc:
        return repr(exc)
    return "closed by the server"


def ensure_topic_and_subscription(
    project: str,
    topic: str,
    subscription: str,
    ack_deadline_s: int = 60,
    *,
    dead_letter_topic: str | None = None,
    max_delivery_attempts: int = 5,
    dead_letter_subscription: str | None = None,
) -> None:
    """Create the topic and subscription if missing: for the emulator and local use only (Terraform owns prod)."""
    publisher = PublisherClient()
    subscriber = SubscriberClient()
    try:
        topic_path = publisher.topic_path(project, topic)
        request: dict[str, Any] = {
            "name": subscriber.subscription_path(project, subscription),
            "topic": topic_path,
            "ack_deadline_seconds": ack_deadline_s,
        }
        topics = [topic_path]
        if dead_letter_topic is not None:
            dead_path = publisher.topic_path(project, dead_letter_topic)
            topics.append(dead_path)
            request["dead_letter_policy"] = {
                "dead_letter_topic": dead_path,
                "max_delivery_attempts": max_delivery_attempts,
            }
        for path in topics:
            with contextlib.suppress(exceptions.AlreadyExists):
                publisher.create_topic(request={"name": path}, timeout=ADMIN_TIMEOUT_S)
        with contextlib.suppress(exceptions.AlreadyExists):
            subscriber.create_subscription(request=request, timeout=ADMIN_TIMEOUT_S)
        if dead_letter_topic is not None and dead_letter_subscription is not None:
            # Where `delos dead-letters` reads (delos-refresh-dead-inspect in infra/pubsub.tf).
            dead_request = {
                "name": subscriber.subscription_path(project, dead_letter_subscription),
                "topic": publisher.topic_path(project, dead_letter_topic),
                "ack_deadline_seconds": ack_deadline_s,
            }
            with contextlib.suppress(exceptions.AlreadyExists):
                subscriber.create_subscription(request=dead_request, timeout=ADMIN_TIMEOUT_S)
    finally:
        subscriber.close()
        publisher.stop()
