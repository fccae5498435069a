"""`delos dead-letters`: listing and replay on both backends, and a replay killed half way loses nothing."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backends.sqlite_store import SQLiteCoinStore
from tests import dead_letter_seeds
from tests.e2e.harness import REPO, delos_env, run_cli
from tests.factories import unique_name

pytestmark = pytest.mark.timeout(120)

BODIES = [b'{"symbols":["BTC"]}', b'{"symbols":["ETH","SOL"]}']
FAILED_AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


class Backend:
    """Where the CLI reads dead letters and republishes them, and how a test looks at both."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def seed(self, bodies: list[bytes]) -> list[str]:
        raise NotImplementedError

    def record_failure(self, symbol: str, reason: str) -> None:
        raise NotImplementedError

    def republished(self) -> list[tuple[bytes, dict[str, str]]]:
        raise NotImplementedError


class Embedded(Backend):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(delos_env({"DELOS_BACKEND": "embedded", "DELOS_DATA_DIR": str(data_dir)}))
        self.data_dir = data_dir

    def seed(self, bodies: list[bytes]) -> list[str]:
        return dead_letter_seeds.embedded(self.data_dir / "queue.sqlite3", bodies)

    def record_failure(self, symbol: str, reason: str) -> None:
        store = SQLiteCoinStore(self.data_dir / "coins.sqlite3")
        store.record_failure(symbol, reason, FAILED_AT)
        store.close()

    def republished(self) -> list[tuple[bytes, dict[str, str]]]:
        return republished_embedded(self.data_dir)


def republished_embedded(data_dir: Path) -> list[tuple[bytes, dict[str, str]]]:
    with sqlite3.connect(data_dir / "queue.sqlite3") as connection:
        rows = connection.execute("SELECT body, attributes FROM messages ORDER BY seq").fetchall()
    return [(bytes(body), json.loads(attributes)) for body, attributes in rows]


def dead_bodies(data_dir: Path) -> list[bytes]:
    with sqlite3.connect(data_dir / "queue.sqlite3") as connection:
        return [bytes(row[0]) for row in connection.execute("SELECT body FROM dead_letters")]


class OnEmulators(Backend):
    def __init__(self, project: str) -> None:
        from backends.pubsub_queue import ensure_topic_and_subscription

        self.project, self.topic, self.ingest = project, "delos-refresh", "delos-ingest"
        ensure_topic_and_subscription(
            project,
            self.topic,
            self.ingest,
            dead_letter_topic="delos-refresh-dead",
            dead_letter_subscription="delos-refresh-dead-inspect",
        )
        super().__init__(delos_env({"DELOS_BACKEND": "gcp", "GOOGLE_CLOUD_PROJECT": project}))

    def seed(self, bodies: list[bytes]) -> list[str]:
        return dead_letter_seeds.pubsub(self.project, "delos-refresh-dead", bodies)

    def record_failure(self, symbol: str, reason: str) -> None:
        from google.cloud import firestore

        from backends.firestore_store import FirestoreCoinStore

        client: Any = firestore.Client(project=self.project)
        FirestoreCoinStore(client).record_failure(symbol, reason, FAILED_AT)
        client.close()

    def republished(self) -> list[tuple[bytes, dict[str, str]]]:
        from google.cloud.pubsub_v1 import SubscriberClient

        with SubscriberClient() as subscriber:
            path = subscriber.subscription_path(self.project, self.ingest)
            response = subscriber.pull(request={"subscription": path, "max_messages": 100}, timeout=10)
        return [(bytes(m.message.data), dict(m.message.attributes)) for m in response.received_messages]


@pytest.fixture(params=["embedded", pytest.param("gcp", marks=pytest.mark.emulator)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "embedded":
        yield Embedded(tmp_path)
        return
    request.getfixturevalue("pubsub_emulator")
    request.getfixturevalue("firestore_emulator")
    yield OnEmulators(unique_name("dead"))


def test_listing_shows_attempts_and_the_coins_last_errors_and_keeps_the_letters(backend: Backend) -> None:
    ids = backend.seed(BODIES)
    backend.record_failure("ETH", "ExchangeUnavailable: HTTP 503")
    listed = run_cli(["dead-letters"], backend.env)
    assert listed.returncode == 0, listed.stderr
    header, *rows, summary = listed.stdout.splitlines()
    assert header.split()[:2] == ["MESSAGE", "ID"] and summary == "2 dead letter(s)"
    by_id = {row.split()[0]: row for row in rows}
    assert sorted(by_id) == sorted(ids)
    eth = by_id[ids[1]]
    assert '{"symbols":["ETH","SOL"]}' in eth and "ETH: ExchangeUnavailable: HTTP 503 (2026-12-01 03:00Z)" in eth
    attempts = str(dead_letter_seeds.ATTEMPTS if isinstance(backend, Embedded) else dead_letter_seeds.PUBSUB_ATTEMPTS)
    assert all(row.split()[3] == attempts for row in rows)
    assert by_id[ids[0]].rstrip().endswith(" -")
    again = run_cli(["dead-letters", "--limit", "1"], backend.env)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "1 dead letter(s) (limit reached)"


def test_replay_republishes_each_letter_then_removes_it(backend: Backend) -> None:
    ids = backend.seed(BODIES)
    replayed = run_cli(["dead-letters", "--replay"], backend.env)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.splitlines()[-1] == "replayed 2 of 2"
    published = backend.republished()
    assert sorted(body for body, _ in published) == sorted(BODIES)
    assert all(attributes["origin"] == "dead-letter-replay" for _, attributes in published)
    assert sorted(attributes["replayed_from"] for _, attributes in published) == sorted(ids)
    assert not any(key.startswith("CloudPubSubDeadLetter") for _, attributes in published for key in attributes)
    after = run_cli(["dead-letters"], backend.env)
    assert after.returncode == 0 and after.stdout.splitlines()[-1] == "0 dead letter(s)"


def test_a_bad_limit_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["dead-letters", "--limit", "0"], Embedded(tmp_path).env)
    assert result.returncode == 2 and "must be at least 1" in result.stderr


def test_a_replay_killed_half_way_loses_no_letter(tmp_path: Path) -> None:
    bodies = [json.dumps({"symbols": [f"C{i}"]}, separators=(",", ":")).encode() for i in range(12)]
    dead_letter_seeds.embedded(tmp_path / "queue.sqlite3", bodies)
    replay = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "tests.e2e.slow_replay", str(tmp_path), "0.3"],
        cwd=REPO,
        env=delos_env({}),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert replay.stdout is not None
    published: list[str] = []
    while len(published) < 3 and (line := replay.stdout.readline()):  # bounded by the test's timeout
        published += [line] if line.startswith("published") else []
    replay.send_signal(signal.SIGKILL)  # during the third publish's linger: committed, not yet acknowledged
    replay.wait(timeout=10)
    replay.stdout.close()
    assert len(published) == 3 and replay.returncode == -signal.SIGKILL
    remaining, republished = dead_bodies(tmp_path), [body for body, _ in republished_embedded(tmp_path)]
    assert set(remaining) | set(republished) == set(bodies), "every letter is still dead-lettered or republished"
    assert len(republished) == 3 and 9 <= len(remaining) <= 10, (len(republished), len(remaining))
    # Running the replay again finishes the job; the letter caught between publish and ack goes out twice.
    finished = run_cli(["dead-letters", "--replay"], delos_env({"DELOS_DATA_DIR": str(tmp_path)}))
    assert finished.returncode == 0, finished.stderr
    assert dead_bodies(tmp_path) == []
    assert set(body for body, _ in republished_embedded(tmp_path)) == set(bodies)
