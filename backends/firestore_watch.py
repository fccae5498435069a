"""The Firestore change feed: a snapshot listener, re-subscribed with backoff whenever it stops.

The client library retries transient stream errors by itself, silently and for
as long as it takes, and when it gives up the listener just goes inactive. So a
supervisor thread also probes the store now and then with one point read (a
listener that looks active may be retrying against a store that is gone). When
the listener is inactive or the probe fails, it reports the feed unhealthy and
opens a new listener; health comes back with that listener's first snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from common.document import CoinDocument, from_dict
from common.errors import BadPriceData

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 0.5
MAX_BACKOFF_S = 30.0
JOIN_TIMEOUT_S = 5.0
CHANGED = ("ADDED", "MODIFIED")
# One billed read every PROBE_INTERVAL_S: about 17,000 a day, a cent's worth, to notice an outage within seconds.
PROBE_INTERVAL_S = 5.0
PROBE_TIMEOUT_S = 2.0
# Never a coin symbol (those are upper-case letters and digits), so the probe never reads a coin.
PROBE_DOCUMENT = "_probe"


def parse_snapshot(snapshot: Any) -> CoinDocument | None:
    """The document in a snapshot; None if missing, or corrupt (logged) so one bad coin hides no other."""
    if not snapshot.exists:
        return None
    try:
        return from_dict(stored_fields(snapshot))
    except (BadPriceData, TypeError, ValueError) as exc:
        log.error("skipping corrupt coin document %r: %s", snapshot.id, exc)
        return None


def stored_fields(snapshot: Any) -> Mapping[str, Any]:
    """A snapshot's fields, read in place.

    to_dict() deep-copies them (the snapshot already holds its own deep copy), so that a caller may
    change the copy; from_dict only reads them, and a cold start reads a thousand documents. The
    client keeps them in `_data`; to_dict() serves should a later client version not.
    """
    data = getattr(snapshot, "_data", None)
    return data if isinstance(data, dict) else (snapshot.to_dict() or {})


class FirestoreWatcher:
    """A collection listener that keeps itself alive until close()."""

    def __init__(
        self,
        collection: Any,
        on_change: Callable[[list[CoinDocument]], None],
        on_health: Callable[[bool], None],
        check_interval_s: float = CHECK_INTERVAL_S,
        probe_interval_s: float = PROBE_INTERVAL_S,
        *,
        hold_first: bool = False,
    ) -> None:
        self.collection = collection
        self.on_change = on_change
        self.on_health = on_health
        self.check_interval_s = check_interval_s
        self.probe_interval_s = probe_interval_s
        self.healthy = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: Any = None
        self._supervisor = threading.Thread(target=self._supervise, name="firestore-coin-watch", daemon=True)
        # hold_first: the first snapshot is the initial load, kept for first_snapshot() rather than passed on.
        self._hold_first = hold_first
        self._first = threading.Event()
        self._unreachable = threading.Event()  # found unreachable before the first snapshot came
        self._initial: list[CoinDocument] = []
        self.reads = 0  # documents received: the first snapshot's, then each change's

    def start(self) -> None:
        self._listener = self.collection.on_snapshot(self._on_snapshot)
        self._supervisor.start()

    def close(self) -> None:
        """Unsubscribe and stop the supervisor (bounded wait)."""
        self._stop.set()
        self._unsubscribe()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=self.check_interval_s + JOIN_TIMEOUT_S)

    def first_snapshot(self, timeout_s: float) -> list[CoinDocument] | None:
        """Every document of the listener's first snapshot (with hold_first); None if none came in time."""
        deadline = time.monotonic() + timeout_s
        # Given up as soon as the supervisor finds the store unreachable: the caller says so and retries,
        # rather than staying silent for the whole timeout.
        while not self._first.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if self._unreachable.is_set() or time.monotonic() >= deadline:
                return None
        return list(self._initial)

    def _on_snapshot(self, snapshots: Any, changes: Any, read_time: Any) -> None:
        self._set_health(True)
        if self._hold_first and not self._first.is_set():
            # The first snapshot holds every document of the collection: the load, read once.
            self.reads += len(snapshots)
            self._initial = [doc for snapshot in snapshots if (doc := parse_snapshot(snapshot)) is not None]
            self._first.set()
            return
        self.reads += len(changes)
        docs = [
            doc
            for change in changes
            if change.type.name in CHANGED and (doc := parse_snapshot(change.document)) is not None
        ]
        if docs:
            try:
                self.on_change(docs)
            except Exception:
                log.exception("coin change listener failed; continuing to watch")

    def _supervise(self) -> None:
        backoff_s = 1.0
        next_probe = time.monotonic() + self.probe_interval_s
        while not self._stop.wait(self.check_interval_s):
            listener = self._listener
            alive = listener is not None and listener.is_active
            if alive and time.monotonic() >= next_probe:
                alive = self._reachable()
                next_probe = time.monotonic() + self.probe_interval_s
            if alive:
                if self.healthy:
                    backoff_s = 1.0
                continue
            self._set_health(False)
            log.warning("coin listener stopped or store unreachable; re-subscribing in %.0f s", backoff_s)
            if self._stop.wait(backoff_s):
                return
            backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)
            try:
                self._unsubscribe()
                self._listener = self.collection.on_snapshot(self._on_snapshot)
            except Exception:
                log.exception("could not re-subscribe to coin changes")

    def _reachable(self) -> bool:
        """One bounded point read: whether the store answers at all right now."""
        try:
            # retry=None: with the default retry, a refused connection is retried well past the timeout.
            self.collection.document(PROBE_DOCUMENT).get(timeout=PROBE_TIMEOUT_S, retry=None)
            return True
        except Exception as exc:
            if self.healthy:
                log.warning("coin store unreachable (%s: %s)", type(exc).__name__, exc)
            return False

    def _set_health(self, healthy: bool) -> None:
        if not healthy and not self._first.is_set():
            self._unreachable.set()
        with self._lock:
            if healthy == self.healthy:
                return
            self.healthy = healthy
        try:
            self.on_health(healthy)
        except Exception:
            log.exception("coin health listener failed; continuing to watch")

    def _unsubscribe(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.unsubscribe()
            except Exception:
                log.debug("listener already closed", exc_info=True)
