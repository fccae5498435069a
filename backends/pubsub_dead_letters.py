"""Dead-lettered refresh messages on Pub/Sub: synchronous pull from the dead-letter topic's subscription.

Nothing consumes that subscription automatically (infra/pubsub.tf: delos-refresh-dead-inspect), so a
pulled message is only held by its lease: an operator's replay acknowledges each message after
republishing it, and whatever was not acknowledged (a crash, a failed publish) comes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from google.api_core import exceptions
from google.cloud.pubsub_v1 import SubscriberClient
from google.pubsub_v1.types import ReceivedMessage

from common.errors import StoreUnavailable
from common.ports import DeadLetter

# Added by Pub/Sub when it forwards a message to the dead-letter topic.
SOURCE_DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"
# A pull waits for messages until its timeout: the first may wait a while for an empty subscription;
# once some came, a short wait is enough to tell that no more are ready (a slow answer only makes
# this page shorter, never loses a message).
FIRST_PULL_TIMEOUT_S = 5.0
NEXT_PULL_TIMEOUT_S = 1.0
ADMIN_TIMEOUT_S = 30.0
HOLD_S = 600  # Pub/Sub's maximum: long enough to republish a page of letters one by one
MAX_PULL = 1000  # Pub/Sub's maximum messages per pull


class PubSubDeadLetters:
    """DeadLetterBox over one Pub/Sub subscription of the dead-letter topic."""

    def __init__(self, project: str, subscription: str) -> None:
        self._subscriber = SubscriberClient()
        self.subscription_path: str = self._subscriber.subscription_path(project, subscription)
        self._held: set[str] = set()

    def peek(self, limit: int) -> list[DeadLetter]:
        """Pull until `limit` letters or an empty answer; each is held HOLD_S seconds unless released."""
        letters: list[DeadLetter] = []
        while len(letters) < limit:
            timeout_s = NEXT_PULL_TIMEOUT_S if letters else FIRST_PULL_TIMEOUT_S
            received = self._pull(min(limit - len(letters), MAX_PULL), timeout_s)
            if not received:
                break
            ack_ids = [item.ack_id for item in received]
            self._held.update(ack_ids)
            with translated(f"cannot hold messages of {self.subscription_path}"):
                self._subscriber.modify_ack_deadline(
                    request={
                        "subscription": self.subscription_path,
                        "ack_ids": ack_ids,
                        "ack_deadline_seconds": HOLD_S,
                    },
                    timeout=ADMIN_TIMEOUT_S,
                )
            letters.extend(_letter(item) for item in received)
        return letters

    def _pull(self, count: int, timeout_s: float) -> list[ReceivedMessage]:
        try:
            response = self._subscriber.pull(
                request={"subscription": self.subscription_path, "max_messages": count}, timeout=timeout_s
            )
        except exceptions.DeadlineExceeded:  # nothing to deliver within the timeout
            return []
        except exceptions.GoogleAPICallError as exc:
            raise StoreUnavailable(f"cannot pull from {self.subscription_path}: {exc}") from exc
        return list(response.received_messages)

    def acknowledge(self, letter: DeadLetter) -> None:
        """Acknowledge (delete) one letter; StoreUnavailable if Pub/Sub does not confirm it."""
        with translated(f"cannot acknowledge {letter.message_id} on {self.subscription_path}"):
            self._subscriber.acknowledge(
                request={"subscription": self.subscription_path, "ack_ids": [letter.handle]}, timeout=ADMIN_TIMEOUT_S
            )
        self._held.discard(letter.handle)

    def release(self) -> None:
        """Make every held, unacknowledged letter deliverable again now (ack deadline 0)."""
        if not self._held:
            return
        ack_ids, self._held = sorted(self._held), set()
        with translated(f"cannot release messages of {self.subscription_path}"):
            self._subscriber.modify_ack_deadline(
                request={"subscription": self.subscription_path, "ack_ids": ack_ids, "ack_deadline_seconds": 0},
                timeout=ADMIN_TIMEOUT_S,
            )

    def close(self) -> None:
        self._subscriber.close()


def _letter(received: ReceivedMessage) -> DeadLetter:
    message = received.message
    attributes = dict(message.attributes)
    attempts = int(attributes.get(SOURCE_DELIVERY_COUNT) or 0)
    # proto-plus hands Timestamps over as datetimes at run time; the stubs still say Timestamp.
    stamp: object = message.publish_time
    published = stamp if isinstance(stamp, datetime) else None
    return DeadLetter(message.message_id, bytes(message.data), attributes, attempts, published, received.ack_id)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """The one place this adapter turns Google API errors into StoreUnavailable."""
    try:
        yield
    except exceptions.GoogleAPICallError as exc:
        raise StoreUnavailable(f"{what}: {exc}") from exc
