"""`delos status` as an operator runs it, on the embedded store and on the Firestore emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backends.sqlite_store import SQLiteCoinStore
from tests.e2e.harness import delos_env, run_cli
from tests.factories import make_document, unique_name

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["embedded", pytest.param("gcp", marks=pytest.mark.emulator)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """A store to seed, and the CLI environment that reads the same store."""
    if request.param == "embedded":
        env = delos_env({"DELOS_BACKEND": "embedded", "DELOS_DATA_DIR": str(tmp_path)})
        store = SQLiteCoinStore(tmp_path / "coins.sqlite3")
        yield store, env
        store.close()
        return
    request.getfixturevalue("firestore_emulator")
    from google.cloud import firestore

    from backends.firestore_store import FirestoreCoinStore

    project = unique_name("status")  # a project of its own: the CLI reads the default collections
    client: Any = firestore.Client(project=project)
    env = delos_env({"DELOS_BACKEND": "gcp", "GOOGLE_CLOUD_PROJECT": project})
    yield FirestoreCoinStore(client), env
    client.close()


def test_status_exits_zero_when_every_coin_is_fresh(backend: tuple[Any, dict[str, str]]) -> None:
    store, env = backend
    now = datetime.now(UTC).replace(microsecond=0)
    for symbol in ("BTC", "ETH"):
        store.save_if_better(make_document(symbol, as_of=now - timedelta(hours=6)))
    result = run_cli(["status"], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("SYMBOL") and [line.split()[0] for line in lines[1:3]] == ["BTC", "ETH"]
    assert lines[-1].startswith("2 coins, 0 stale, 0 failing, last refresh ")


def test_status_exits_one_and_names_stale_and_failing_coins(backend: tuple[Any, dict[str, str]]) -> None:
    store, env = backend
    now = datetime.now(UTC).replace(microsecond=0)
    store.save_if_better(make_document("BTC", as_of=now - timedelta(hours=6)))
    store.save_if_better(make_document("ADA", as_of=now - timedelta(days=4)))
    store.record_failure("BTC", "ExchangeUnavailable: HTTP 503", now)
    result = run_cli(["status", "--json"], env)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    rows = {row["symbol"]: row for row in report["coins"]}
    assert rows["ADA"]["stale"] is True and rows["ADA"]["last_failure"] is None
    assert rows["BTC"]["stale"] is False
    assert rows["BTC"]["last_failure"] == {"reason": "ExchangeUnavailable: HTTP 503", "at": now.isoformat()[:-6] + "Z"}
    assert report["summary"]["coins"] == 2 and report["summary"]["stale"] == 1 and report["summary"]["failing"] == 1


def test_status_exits_three_when_the_store_cannot_be_read(tmp_path: Path) -> None:
    unreadable = tmp_path / "not-a-directory"
    unreadable.write_text("")
    result = run_cli(["status"], delos_env({"DELOS_BACKEND": "embedded", "DELOS_DATA_DIR": str(unreadable)}))
    assert result.returncode == 3, result
    assert result.stderr.startswith("delos status: cannot read the store: ") and result.stdout == ""
