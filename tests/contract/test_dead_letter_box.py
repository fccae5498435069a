"""One contract for every DeadLetterBox: the embedded queue's table and a Pub/Sub dead-letter subscription."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.sqlite_dead_letters import SQLiteDeadLetters
from tests import dead_letter_seeds
from tests.emulators import PROJECT
from tests.factories import unique_name

Seed = Callable[[list[bytes]], list[str]]


@pytest.fixture(params=["sqlite", pytest.param("pubsub", marks=pytest.mark.emulator)])
def box_and_seed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Seed, int]]:
    """A box, a function that dead-letters bodies into it, and the attempts the backend reports."""
    if request.param == "sqlite":
        path = tmp_path / "queue.sqlite3"
        box = SQLiteDeadLetters(path)
        yield box, lambda bodies: dead_letter_seeds.embedded(path, bodies), dead_letter_seeds.ATTEMPTS
        box.close()
        return
    request.getfixturevalue("pubsub_emulator")
    from backends.pubsub_dead_letters import PubSubDeadLetters
    from backends.pubsub_queue import ensure_topic_and_subscription

    topic, dead = unique_name("refresh"), unique_name("refresh-dead")
    inspect = unique_name("dead-inspect")
    ensure_topic_and_subscription(
        PROJECT, topic, unique_name("ingest"), dead_letter_topic=dead, dead_letter_subscription=inspect
    )
    pubsub_box = PubSubDeadLetters(PROJECT, inspect)
    yield pubsub_box, lambda bodies: dead_letter_seeds.pubsub(PROJECT, dead, bodies), dead_letter_seeds.PUBSUB_ATTEMPTS
    pubsub_box.release()
    pubsub_box.close()


BODIES = [b'{"symbols":["BTC"]}', b'{"symbols":["ETH"]}', b'{"symbols":["SOL"]}']


def test_peek_shows_every_letter_with_its_attempts_and_leaves_it_in_place(box_and_seed: Any) -> None:
    box, seed, attempts = box_and_seed
    ids = seed(BODIES)
    letters = box.peek(10)
    assert sorted(letter.body for letter in letters) == sorted(BODIES)
    assert sorted(letter.message_id for letter in letters) == sorted(ids)
    assert {letter.delivery_attempts for letter in letters} == {attempts}
    assert all(letter.attributes["origin"] == "test" and letter.dead_at is not None for letter in letters)
    box.release()
    assert sorted(letter.message_id for letter in box.peek(10)) == sorted(ids)


def test_an_acknowledged_letter_is_gone_and_the_others_stay(box_and_seed: Any) -> None:
    box, seed, _ = box_and_seed
    seed(BODIES)
    first, *others = box.peek(10)
    box.acknowledge(first)
    box.release()
    assert sorted(letter.message_id for letter in box.peek(10)) == sorted(letter.message_id for letter in others)


def test_peek_returns_at_most_limit_letters(box_and_seed: Any) -> None:
    box, seed, _ = box_and_seed
    seed(BODIES)
    assert len(box.peek(2)) == 2


def test_an_empty_box_peeks_nothing(box_and_seed: Any) -> None:
    box, _, _ = box_and_seed
    assert box.peek(10) == []
