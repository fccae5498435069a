"""Put refresh messages into a dead-letter queue the way each backend does it, for the dead-letter tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from backends.redelivery import Redelivery
from backends.sqlite_queue import SQLiteRefreshQueue
from common.ports import Delivery, Verdict

ATTEMPTS = 2  # the embedded queue's dead-lettering threshold in these tests
PUBSUB_ATTEMPTS = 5  # what Pub/Sub reports for production's max_delivery_attempts
WAIT_S = 20.0


def embedded(queue_path: Path, bodies: Sequence[bytes]) -> list[str]:
    """Publish `bodies` and nack every delivery until the embedded queue dead-letters them all; their ids."""
    redelivery = Redelivery(backoff_min_s=0.01, backoff_max_s=0.01, budget_s=0, max_attempts=ATTEMPTS)
    queue = SQLiteRefreshQueue(queue_path, poll_interval_s=0.02, redelivery=redelivery)
    ids = [queue.publish(body, {"origin": "test"}) for body in bodies]

    def refuse(_delivery: Delivery) -> Verdict:
        return Verdict.NACK

    stop = threading.Event()
    consumer = threading.Thread(target=queue.consume, args=(refuse, stop), daemon=True)
    consumer.start()
    deadline = time.monotonic() + WAIT_S
    while len(queue.dead_letters()) < len(bodies) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    consumer.join(timeout=WAIT_S)
    assert len(queue.dead_letters()) == len(bodies) and not consumer.is_alive()
    queue.close()
    return ids


def pubsub(project: str, dead_topic: str, bodies: Sequence[bytes]) -> list[str]:
    """Publish `bodies` to the dead-letter topic with the attributes Pub/Sub adds when it dead-letters."""
    from google.cloud.pubsub_v1 import PublisherClient

    publisher = PublisherClient()
    topic_path = publisher.topic_path(project, dead_topic)
    attributes = {
        "origin": "test",
        "CloudPubSubDeadLetterSourceDeliveryCount": str(PUBSUB_ATTEMPTS),
        "CloudPubSubDeadLetterSourceSubscription": "delos-ingest",
    }
    futures = [publisher.publish(topic_path, body, **attributes) for body in bodies]
    ids = [str(future.result(timeout=WAIT_S)) for future in futures]
    publisher.stop()
    return ids
