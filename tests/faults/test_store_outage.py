"""The store goes away: answers keep coming from memory, marked stale, and catch up once it is back.

A Firestore emulator of this test's own is stopped and started again on the same port (the session's shared
one is left alone). The SQLite store has no such scenario: in WAL mode no lock a test can take (an exclusive
transaction included) stops readers, which is why the embedded store was built on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import firestore

from backends.firestore_store import FirestoreCoinStore
from delos.v1 import lambo_pb2 as pb
from tests.e2e.harness import answered, wait_for
from tests.emulators import ANY_PORT, GCLOUD_MISSING, bound_host, start, stop, wait_until_ready
from tests.faults.helpers import InProcessServer, fresh_document

pytestmark = [pytest.mark.faults, pytest.mark.emulator, pytest.mark.timeout(120)]
PROJECT = "delos-outage"


class Emulator:
    """A Firestore emulator that can be stopped and restarted on the same address (it starts empty again)."""

    def __init__(self, log_dir: Path) -> None:
        self.host = ANY_PORT  # the first start takes any port; restarts take the same one again
        self.log_dir = log_dir
        self.starts = 0
        self.process = self.start()

    def start(self) -> object:
        self.starts += 1
        log = self.log_dir / f"firestore-{self.starts}.log"
        process = start(["gcloud", "emulators", "firestore", "start", "--quiet", f"--host-port={self.host}"], log)
        try:
            if self.host == ANY_PORT:
                self.host = bound_host(process, log)
            else:
                wait_until_ready(self.host, process, log)
        except BaseException:
            stop(process)
            raise
        self.process = process
        return process

    def stop(self) -> None:
        stop(self.process)  # type: ignore[arg-type]


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    if shutil.which("gcloud") is None:
        pytest.skip(GCLOUD_MISSING)
    running = Emulator(tmp_path)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", running.host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    yield running
    running.stop()


def stale_answer(target: str, symbol: str) -> pb.AskLamboResponse | None:
    answer = answered(target, symbol)
    return answer if answer is not None and answer.stale else None


def test_firestore_outage_answers_stale_from_memory_then_catches_up(emulator: Emulator) -> None:
    client = firestore.Client(project=PROJECT)
    store = FirestoreCoinStore(client)
    store.save_if_better(fresh_document("BTC"))
    server = InProcessServer(feed=store)
    try:
        first = answered(server.target, "BTC")
        assert first is not None and first.stale is False

        emulator.stop()
        stale = wait_for(lambda: stale_answer(server.target, "BTC"), 30, "stale answers")
        assert stale.coins_bought == first.coins_bought  # still answered, from memory

        emulator.start()  # back, and empty: a worker writes again
        writer = FirestoreCoinStore(firestore.Client(project=PROJECT))
        wait_for(lambda: writer.save_if_better(fresh_document("ETH")), 30, "the store to take writes again")
        recovered = wait_for(lambda: answered(server.target, "ETH"), 45, "the document written after recovery")
        assert recovered.stale is False
        wait_for(lambda: (answer := answered(server.target, "BTC")) is not None and not answer.stale, 10, "BTC fresh")
    finally:
        server.close()
        store.close()
        client.close()  # type: ignore[no-untyped-call]
