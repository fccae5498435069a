"""One contract for every RefreshQueue adapter: SQLite (embedded) and Pub/Sub (emulator)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from backends.redelivery import Redelivery
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
            tmp_path / "queue.sqlite3",
            ack_deadline_s=10,
            max_outstanding=2,
            poll_interval_s=0.05,
            redelivery=Redelivery(backoff_min_s=0.05, backoff_max_s=0.2, budget_s=0),
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
        tmp_path / "q.sqlite3",
        poll_interval_s=0.05,
        redelivery=Redelivery(backoff_min_s=0.01, backoff_max_s=0.01, budget_s=0, max_attempts=3),
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


class Timed(Inbox):
    """An Inbox that also notes when (monotonic seconds) each delivery arrived."""

    def __init__(self, answer: Callable[[Delivery], Verdict]) -> None:
        super().__init__(answer)
        self.times: list[float] = []

    def __call__(self, delivery: Delivery) -> Verdict:
        self.times.append(time.monotonic())
        return super().__call__(delivery)


def test_sqlite_redeliveries_back_off_exponentially_up_to_the_cap(tmp_path: Path) -> None:
    policy = Redelivery(backoff_min_s=0.2, backoff_max_s=0.8, budget_s=60, max_attempts=100)
    queue = SQLiteRefreshQueue(tmp_path / "q.sqlite3", poll_interval_s=0.02, redelivery=policy)
    queue.publish(b"outage")
    inbox = Timed(lambda d: Verdict.NACK if d.delivery_attempt < 5 else Verdict.ACK)
    with consuming(queue, inbox):
        inbox.wait_for(5, timeout_s=WAIT_S)
    gaps = [later - earlier for earlier, later in zip(inbox.times, inbox.times[1:], strict=False)]
    expected = [0.2, 0.4, 0.8, 0.8]  # doubling from the minimum, then held at the cap
    for gap, wanted in zip(gaps, expected, strict=True):
        assert wanted <= gap < wanted + 0.75, (gaps, expected)
    assert queue.pending() == 0 and queue.dead_letters() == []


def test_sqlite_message_out_of_attempts_but_within_its_time_budget_is_delivered_again(tmp_path: Path) -> None:
    policy = Redelivery(backoff_min_s=0.1, backoff_max_s=0.2, budget_s=2.0, max_attempts=2)
    queue = SQLiteRefreshQueue(tmp_path / "q.sqlite3", poll_interval_s=0.02, redelivery=policy)
    queue.publish(b"an exchange outage of 1.5 s")
    recovered_at = time.monotonic() + 1.5
    inbox = Timed(lambda d: Verdict.ACK if time.monotonic() >= recovered_at else Verdict.NACK)
    with consuming(queue, inbox):
        wait_until(lambda: queue.pending() == 0, "the message to be acked")
    assert len(inbox.deliveries) > policy.max_attempts  # the count alone would have dead-lettered it
    assert inbox.times[-1] >= recovered_at
    assert queue.dead_letters() == []


def test_sqlite_message_is_dead_lettered_only_once_both_attempts_and_budget_are_used(tmp_path: Path) -> None:
    policy = Redelivery(backoff_min_s=0.1, backoff_max_s=0.2, budget_s=1.0, max_attempts=2)
    queue = SQLiteRefreshQueue(tmp_path / "q.sqlite3", poll_interval_s=0.02, redelivery=policy)
    message_id = queue.publish(b"never recovers", {"origin": "test"})
    inbox = Inbox(lambda d: Verdict.NACK)
    started = time.monotonic()  # before the first lease, where the budget starts
    with consuming(queue, inbox):
        wait_until(lambda: queue.dead_letters(), "the message to be dead-lettered")
        dead_after_s = time.monotonic() - started
        time.sleep(0.4)  # long enough for a (wrong) further delivery
    assert policy.budget_s <= dead_after_s < policy.budget_s + 1.0
    attempts = len(inbox.deliveries)
    assert attempts > policy.max_attempts
    # Kept whole for an operator's replay: body, attributes and how often it was tried.
    assert queue.dead_letters() == [Delivery(message_id, b"never recovers", {"origin": "test"}, attempts)]
    assert queue.pending() == 0


def test_sqlite_queue_file_from_before_the_retry_budget_is_upgraded_and_its_messages_delivered(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    with closing(sqlite3.connect(path)) as old, old:
        old.executescript(OLD_SCHEMA)
        old.execute(
            "INSERT INTO messages (id, body, attributes, delivery_attempt, visible_at) VALUES (?, ?, ?, ?, ?)",
            ("m1", b"queued before the upgrade", "{}", 1, time.time()),
        )
    queue = SQLiteRefreshQueue(path, poll_interval_s=0.02)
    inbox = Inbox()
    with consuming(queue, inbox):
        [delivery] = inbox.wait_for(1)
    assert (delivery.message_id, delivery.body, delivery.delivery_attempt) == ("m1", b"queued before the upgrade", 2)
    assert queue.pending() == 0


OLD_SCHEMA = """
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body BLOB NOT NULL, attributes TEXT NOT NULL,
    delivery_attempt INTEGER NOT NULL DEFAULT 0, visible_at REAL NOT NULL, lease TEXT
);
CREATE TABLE dead_letters (
    id TEXT PRIMARY KEY, body BLOB NOT NULL, attributes TEXT NOT NULL, delivery_attempt INTEGER NOT NULL,
    dead_at REAL NOT NULL
);
"""


def wait_until(probe: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.02)


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
