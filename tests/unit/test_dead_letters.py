"""`delos dead-letters` decisions: what a replayed message carries, which errors explain a letter, a failed publish."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime

from cli.dead_letters import EXIT_REPLAY_FAILED, dead_letters, last_errors, replay_attributes
from common.errors import StoreUnavailable
from common.ports import DeadLetter
from common.status import RefreshFailure

AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def letter(message_id: str, body: bytes, **attributes: str) -> DeadLetter:
    return DeadLetter(message_id, body, attributes, 5, AT, f"handle-{message_id}")


class InMemoryBox:
    """A DeadLetterBox in a list: acknowledged letters leave it, release() is recorded."""

    def __init__(self, letters: list[DeadLetter]) -> None:
        self.letters = letters
        self.released = 0

    def peek(self, limit: int) -> list[DeadLetter]:
        return self.letters[:limit]

    def acknowledge(self, letter: DeadLetter) -> None:
        self.letters.remove(letter)

    def release(self) -> None:
        self.released += 1


class FlakyQueue:
    """Publishes `works` messages, then the refresh topic is unreachable."""

    def __init__(self, works: int) -> None:
        self.works = works
        self.published: list[bytes] = []

    def publish(self, body: bytes, attributes: Mapping[str, str] | None = None) -> str:
        if len(self.published) >= self.works:
            raise StoreUnavailable("cannot publish to delos-refresh: 503")
        self.published.append(body)
        return f"new-{len(self.published)}"


def test_a_replay_drops_pubsubs_dead_letter_attributes_and_names_its_origin() -> None:
    dead = letter("m1", b"{}", run_key="scheduled-all", CloudPubSubDeadLetterSourceDeliveryCount="5")
    assert replay_attributes(dead) == {
        "run_key": "scheduled-all",
        "origin": "dead-letter-replay",
        "replayed_from": "m1",
    }


def test_last_errors_are_the_recorded_failures_of_the_coins_a_letter_names() -> None:
    letters = [letter("m1", b'{"symbols":["BTC","ETH"]}'), letter("m2", b'{"all":true}'), letter("m3", b"junk")]
    failures = [RefreshFailure("ETH", "ExchangeUnavailable: 503", AT), RefreshFailure("SOL", "x", AT)]
    assert last_errors(letters, failures) == {"m1": "ETH: ExchangeUnavailable: 503 (2026-12-01 03:00Z)"}


def test_a_failed_publish_stops_the_replay_and_keeps_that_letter_and_the_rest() -> None:
    letters = [letter(f"m{i}", b'{"symbols":["BTC"]}') for i in range(3)]
    box, queue, out = InMemoryBox(list(letters)), FlakyQueue(works=1), io.StringIO()
    code = dead_letters(lambda: box, list, lambda: queue, limit=10, replay=True, out=out)
    assert code == EXIT_REPLAY_FAILED
    assert box.letters == letters[1:] and box.released == 1
    assert out.getvalue().splitlines() == ['replayed m0 as new-1: {"symbols":["BTC"]}', "replayed 1 of 3"]
