"""`delos dead-letters [--replay] [--limit N]`: see refresh messages that failed every attempt, and send them again.

Replay is at-least-once, never at-most-once: each letter is republished to the refresh topic and
acknowledged only after the publish was confirmed. A replay killed between the two leaves the letter
in place, so it is replayed again later (a duplicate refresh rewrites the same document); nothing is
lost. Letters not reached are released for the next reader.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol, TextIO

from common import messages
from common.errors import DelosError
from common.ports import DeadLetter, DeadLetterBox
from common.status import RefreshFailure

EXIT_OK = 0
EXIT_REPLAY_FAILED = 1
EXIT_UNREADABLE = 3
DEFAULT_LIMIT = 100
REPLAY_ORIGIN = "dead-letter-replay"
# Attributes Pub/Sub adds when dead-lettering; a replayed message starts afresh without them.
PUBSUB_DEAD_LETTER_PREFIX = "CloudPubSubDeadLetter"


class Publisher(Protocol):
    """The one thing a replay needs of the refresh queue (RefreshQueue.publish)."""

    def publish(self, body: bytes, attributes: Mapping[str, str] | None = None) -> str: ...


COLUMNS = ("MESSAGE ID", "DEAD-LETTERED", "ATTEMPTS", "MESSAGE", "LAST ERROR")


def dead_letters(
    open_box: Callable[[], DeadLetterBox],
    failures: Callable[[], Sequence[RefreshFailure]],
    open_queue: Callable[[], Publisher],
    *,
    limit: int,
    replay: bool,
    out: TextIO = sys.stdout,
) -> int:
    """List (or replay) up to `limit` dead letters; the exit code says whether a replay stopped early."""
    try:
        box = open_box()
    except (DelosError, OSError) as exc:
        print(f"delos dead-letters: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        letters = box.peek(limit)
        if not replay:
            errors = last_errors(letters, failures())
            out.write(table(letters, errors))
            out.write(f"{len(letters)} dead letter(s){' (limit reached)' if len(letters) == limit else ''}\n")
            return EXIT_OK
        return _replay(box, letters, open_queue, out)
    except DelosError as exc:
        print(f"delos dead-letters: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    finally:
        box.release()


def _replay(box: DeadLetterBox, letters: Sequence[DeadLetter], open_queue: Callable[[], Publisher], out: TextIO) -> int:
    queue = open_queue()
    for done, letter in enumerate(letters):
        try:
            new_id = queue.publish(letter.body, replay_attributes(letter))
            box.acknowledge(letter)  # only now: a crash before this line replays the letter again later
        except DelosError as exc:
            print(f"delos dead-letters: replay stopped at {letter.message_id}: {exc}", file=sys.stderr)
            out.write(f"replayed {done} of {len(letters)}\n")
            return EXIT_REPLAY_FAILED
        out.write(f"replayed {letter.message_id} as {new_id}: {_body(letter)}\n")
        out.flush()
    out.write(f"replayed {len(letters)} of {len(letters)}\n")
    return EXIT_OK


def replay_attributes(letter: DeadLetter) -> dict[str, str]:
    """The original attributes without Pub/Sub's dead-letter ones, marked as a replay of `letter`."""
    kept = {k: v for k, v in letter.attributes.items() if not k.startswith(PUBSUB_DEAD_LETTER_PREFIX)}
    return {**kept, "origin": REPLAY_ORIGIN, "replayed_from": letter.message_id}


def last_errors(letters: Iterable[DeadLetter], failures: Iterable[RefreshFailure]) -> dict[str, str]:
    """Per letter, the recorded failures of the coins it names: the worker records why each refresh failed."""
    by_symbol: Mapping[str, RefreshFailure] = {failure.symbol: failure for failure in failures}
    errors: dict[str, str] = {}
    for letter in letters:
        try:
            symbols = messages.decode(letter.body).symbols
        except DelosError:
            continue
        found = [f"{s}: {by_symbol[s].reason} ({_when(by_symbol[s].at)})" for s in symbols if s in by_symbol]
        if found:
            errors[letter.message_id] = "; ".join(found)
    return errors


def table(letters: Sequence[DeadLetter], errors: Mapping[str, str]) -> str:
    rows = [COLUMNS] + [
        (
            letter.message_id,
            _when(letter.dead_at),
            str(letter.delivery_attempts),
            _body(letter),
            errors.get(letter.message_id, "-"),
        )
        for letter in letters
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1] + "\n" for row in rows
    )


def _body(letter: DeadLetter) -> str:
    return letter.body.decode("utf-8", errors="replace")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")
