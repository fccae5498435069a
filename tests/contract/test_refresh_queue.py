"""One contract for every RefreshQueue adapter: SQLite (embedded) and Pub/Sub (emulator)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from backends.sqlite_queue import SQLiteRefreshQueue
from common.ports import Delivery, Verdict
from tests.emulators import PROJECT
from tests.factories import unique_name

WAIT_S = 10.0
STOP_BOUND_S = 10.0  # shutdown_timeout_s (8 s) plus slack


@pytest.fixture(params=["sqlite", pytest.param("pubsub", marks=pytest.mark.emulator)])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        sqlite_queue = SQLiteRefreshQueue(
            tmp_path / "queue.sqlite3", ack_deadline_s=10, max_outstanding=2, poll_interval_s=0.05, nack_backoff_s=0.05
        )
        yield sqlite_queue
        sqlite_queue.close()
        return
    request.getfixturevalue("pubsub_emulator")
    from backends.pubsub_queue import PubSubRefreshQueue, ensure_topic_and_subscription

    topic, subscription, dead = unique_name("refresh"), unique_name("ingest"), unique_name("refresh-dead")
    # Like production (infra/pubsub.tf): a dead-letter policy, which is also what makes Pub/Sub count attempts.
    ensure_topic_and_subscription(PROJECT, topic, subscription, ack_deadline_s=10, dead_letter_topic=dead)
    pubsub_queue = PubSubRefreshQueue(PROJECT, topic, subscription, max_outstanding=2)
    yield pubsub_queue
    pubsub_queue.close()
    _delete_pubsub(subscription, [topic, dead])


def _delete_pubsub(subscription: str, topics: list[str]) -> None:
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

    with SubscriberClient() as subscriber:
        subscriber.delete_subscription(
            request={"subscription": subscriber.subscription_path(PROJECT, subscription)}, timeout=10
        )
    publisher = PublisherClient()
    for topic in topics:
        publisher.delete_topic(request={"topic": publisher.topic_path(PROJECT, topic)}, timeout=10)


class Inbox:
    """Records deliveries and answers with a scripted verdict (or exception)."""

    def __init__(self, answer: Callable[[Delivery], Verdict] = lambda d: Verdict.ACK) -> None:
        self.deliveries: list[Delivery] = []
        self.answer = answer
        self.arrived = threading.Condition()

    def __call__(self, delivery: Delivery) -> Verdict:
        with self.arrived:
            self.deliveries.append(delivery)
            self.arrived.notify_all()
        return self.answer(delivery)

    def wait_for(self, count: int, timeout_s: float = WAIT_S) -> list[Delivery]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout_s)
            assert len(self.deliveries) >= count, f"{len(self.deliveries)} of {count} deliveries in {timeout_s} s"
            return list(self.deliveries)


@contextmanager
def consuming(queue: Any, handler: Callable[[Delivery], Verdict]) -> Iterator[threading.Event]:
    """Run queue.consume in a thread; on exit stop it and check it returned in bounded time."""
    stop = threading.Event()
    thread = threading.Thread(target=queue.consume, args=(handler, stop), daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=STOP_BOUND_S)
        assert not thread.is_alive(), f"consume did not return within {STOP_BOUND_S} s of stop"


def test_a_published_message_is_delivered_with_body_and_attributes(queue: Any) -> None:
    message_id = queue.publish(b'{"symbols": ["BTC"]}', {"origin": "test"})
    inbox = Inbox()
    with consuming(queue, inbox):
        [delivery] = inbox.wait_for(1)
    assert message_id
    assert delivery == Delivery(message_id, b'{"symbols": ["BTC"]}', {"origin": "test"}, 1)


def test_an_acked_message_is_not_delivered_again(queue: Any) -> None:
    queue.publish(b"once")
    inbox = Inbox()
    with consuming(queue, inbox):
        inbox.wait_for(1)
        time.sleep(1.0)
    with consuming(queue, inbox):
        time.sleep(1.0)
    assert [d.body for d in inbox.deliveries] == [b"once"]


def test_a_nacked_message_is_redelivered_with_a_growing_attempt_count(queue: Any) -> None:
    message_id = queue.publish(b"retry me")
    inbox = Inbox(lambda d: Verdict.NACK if d.delivery_attempt < 3 else Verdict.ACK)
    with consuming(queue, inbox):
        deliveries = inbox.wait_for(3)
    assert {d.message_id for d in deliveries} == {message_id}
    assert [d.delivery_attempt for d in deliveries[:3]] == [1, 2, 3]


def test_a_handler_exception_counts_as_a_nack(queue: Any) -> None:
    def explode_once(delivery: Delivery) -> Verdict:
        if delivery.delivery_attempt == 1:
            raise RuntimeError("handler bug")
        return Verdict.ACK

    queue.publish(b"fragile")
    inbox = Inbox(explode_once)
    with consuming(queue, inbox):
        deliveries = inbox.wait_for(2)
    assert [d.body for d in deliveries[:2]] == [b"fragile", b"fragile"]


def test_messages_published_while_nobody_consumes_are_delivered_later(queue: Any) -> None:
    bodies = [b"first", b"second", b"third"]
    for body in bodies:
        queue.publish(body)
    inbox = Inbox()
    with consuming(queue, inbox):
        deliveries = inbox.wait_for(3)
    assert sorted(d.body for d in deliveries) == sorted(bodies)


def test_stop_returns_promptly_even_with_a_handler_running(queue: Any) -> None:
    queue.publish(b"slow")
    started = threading.Event()

    def slow(delivery: Delivery) -> Verdict:
        started.set()
        time.sleep(1.0)
        return Verdict.ACK

    with consuming(queue, slow):  # the exit asserts the bounded return
        assert started.wait(WAIT_S)


# SQLite only: what Pub/Sub provides server-side, the embedded queue must provide itself.


def test_sqlite_delivery_order_is_publish_order(tmp_path: Path) -> None:
    queue = SQLiteRefreshQueue(tmp_path / "q.sqlite3", poll_interval_s=0.05)
    for i in range(5):
        queue.publish(str(i).encode())
    inbox = Inbox()
    with consuming(queue, inbox):
        deliveries = inbox.wait_for(5)
    assert [d.body for d in deliveries] == [b"0", b"1", b"2", b"3", b"4"]
    assert queue.pending() == 0


def test_sqlite_messages_survive_the_queue_object(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    publisher = SQLiteRefreshQueue(path)
    message_id = publisher.publish(b"durable", {"origin": "test"})
    publisher.close()
    consumer = SQLiteRefreshQueue(path, poll_interval_s=0.05)
    inbox = Inbox()
    with consuming(consumer, inbox):
        [delivery] = inbox.wait_for(1)
    assert delivery.message_id == message_id
    assert consumer.pending() == 0


def test_sqlite_message_is_dead_lettered_after_max_attempts(tmp_path: Path) -> None:
    queue = SQLiteRefreshQueue(
        tmp_path / "q.sqlite3", poll_interval_s=0.05, nack_backoff_s=0.01, max_delivery_attempts=3
    )
    message_id = queue.publish(b"poison", {"origin": "test"})
    inbox = Inbox(lambda d: Verdict.NACK)
    with consuming(queue, inbox):
        inbox.wait_for(3)
        deadline = time.monotonic() + WAIT_S
        while not queue.dead_letters() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # long enough for a (wrong) fourth delivery
    assert [d.delivery_attempt for d in inbox.deliveries] == [1, 2, 3]
    assert queue.dead_letters() == [Delivery(message_id, b"poison", {"origin": "test"}, 3)]
    assert queue.pending() == 0


CRASHING_CONSUMER = """
import sys, threading, time
from pathlib import Path
from backends.sqlite_queue import SQLiteRefreshQueue
from common.ports import Verdict

def handler(delivery):
    Path(sys.argv[2]).write_text(delivery.message_id)
    time.sleep(60)  # killed here, mid-handling
    return Verdict.ACK

SQLiteRefreshQueue(Path(sys.argv[1]), ack_deadline_s=1, poll_interval_s=0.05).consume(handler, threading.Event())
"""


def test_sqlite_message_of_a_crashed_consumer_is_redelivered_when_its_lease_expires(tmp_path: Path) -> None:
    path, marker = tmp_path / "q.sqlite3", tmp_path / "leased"
    queue = SQLiteRefreshQueue(path, poll_interval_s=0.05)
    message_id = queue.publish(b"survive a crash")
    crashing = subprocess.Popen([sys.executable, "-c", CRASHING_CONSUMER, str(path), str(marker)], cwd=os.getcwd())
    try:
        deadline = time.monotonic() + WAIT_S
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the crashing consumer never got the message"
    finally:
        crashing.send_signal(signal.SIGKILL)
        crashing.wait(timeout=WAIT_S)
    inbox = Inbox()
    with consuming(queue, inbox):
        [delivery] = inbox.wait_for(1)
    assert (delivery.message_id, delivery.delivery_attempt) == (message_id, 2)
    assert queue.pending() == 0


# Pub/Sub only: what the emulator does where the contract promises nothing precise.


@pytest.mark.emulator
def test_pubsub_without_dead_letter_policy_reports_every_attempt_as_the_first(pubsub_emulator: str) -> None:
    from backends.pubsub_queue import PubSubRefreshQueue, ensure_topic_and_subscription

    topic, subscription = unique_name("refresh"), unique_name("ingest")
    ensure_topic_and_subscription(PROJECT, topic, subscription, ack_deadline_s=10)
    queue = PubSubRefreshQueue(PROJECT, topic, subscription)
    try:
        queue.publish(b"count me")
        inbox = Inbox(lambda d: Verdict.NACK if len(inbox.deliveries) < 3 else Verdict.ACK)
        with consuming(queue, inbox):
            deliveries = inbox.wait_for(3)
        # Pub/Sub sets delivery_attempt only with a dead-letter policy; the adapter reports None as 1.
        assert [d.delivery_attempt for d in deliveries[:3]] == [1, 1, 1]
    finally:
        queue.close()
        _delete_pubsub(subscription, [topic])
