"""`delos publish ... --wait` against a real worker, embedded and on the emulators: output and exit codes."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_exchange import FakeKraken, Fault
from tests.e2e.harness import KRAKEN_ONLY, DelosProcess, delos_env, run_cli

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=["embedded", pytest.param("gcp", marks=pytest.mark.emulator)])
def env(request: pytest.FixtureRequest, tmp_path: Path, exchange: FakeKraken) -> dict[str, str]:
    fast = {
        **KRAKEN_ONLY,
        "DELOS_KRAKEN_URL": exchange.base_url,
        "DELOS_REQUEST_INTERVAL": "0",
        "DELOS_MAX_RETRIES": "0",
        "DELOS_POLL_INTERVAL": "0.1",
    }
    if request.param == "embedded":
        return delos_env({**fast, "DELOS_BACKEND": "embedded", "DELOS_DATA_DIR": str(tmp_path)})
    request.getfixturevalue("pubsub_emulator")
    request.getfixturevalue("firestore_emulator")
    from backends.pubsub_queue import ensure_topic_and_subscription

    project = f"delos-wait-{uuid.uuid4().hex[:8]}"
    ensure_topic_and_subscription(project, "delos-refresh", "delos-ingest", dead_letter_topic="delos-refresh-dead")
    return delos_env({**fast, "DELOS_BACKEND": "gcp", "GOOGLE_CLOUD_PROJECT": project})


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[DelosProcess]:
    process = DelosProcess(["worker"], env, tmp_path / "worker.log")
    yield process
    assert process.stop(signal.SIGTERM) == 0, process.logs()


def test_wait_reports_the_refreshed_and_the_failed_coin_and_exits_one(
    env: dict[str, str], worker: DelosProcess, exchange: FakeKraken
) -> None:
    exchange.inject(Fault.NEGATIVE, times=100, path="OHLC", pair="XETHZUSD")  # bad data: a permanent failure
    result = run_cli(["publish", "BTC", "ETH", "--wait", "--timeout", "90"], env, timeout_s=120)
    assert result.returncode == 1, result.stdout + result.stderr + worker.logs()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("published ") and lines[0].endswith("waiting for 2 coin(s), at most 90 s")
    assert "2/2 done: 1 refreshed, 1 failed" in lines
    assert "1 refreshed, 1 failed, 0 not finished, of 2" in lines
    (eth,) = [line for line in lines if line.startswith("ETH ")]
    assert "BadPriceData" in eth


def test_wait_exits_zero_when_every_coin_is_refreshed(env: dict[str, str], worker: DelosProcess) -> None:
    result = run_cli(["publish", "btc", "--wait", "--timeout", "90"], env, timeout_s=120)
    assert result.returncode == 0, result.stdout + result.stderr + worker.logs()
    assert result.stdout.splitlines()[-1] == "1 refreshed, 0 failed, 0 not finished, of 1"


def test_wait_without_a_worker_times_out_with_exit_four(env: dict[str, str]) -> None:
    result = run_cli(["publish", "BTC", "ETH", "--wait", "--timeout", "2"], env)
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "timed out waiting for BTC, ETH"


def test_all_waits_for_the_configured_coins_in_embedded_mode(tmp_path: Path) -> None:
    env = delos_env({"DELOS_BACKEND": "embedded", "DELOS_DATA_DIR": str(tmp_path), "DELOS_COINS": "BTC,ETH,SOL"})
    result = run_cli(["publish", "--all", "--wait", "--timeout", "1"], env)
    assert result.returncode == 4
    assert "waiting for 3 coin(s)" in result.stdout and result.stdout.endswith("timed out waiting for BTC, ETH, SOL\n")
