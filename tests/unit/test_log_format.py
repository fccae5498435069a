"""Log lines: Cloud Logging JSON off a terminal or on request, readable lines on a terminal."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from backends.cloud_logging import (
    LOG_FIELDS,
    SOURCE_LOCATION_KEY,
    CloudLoggingFormatter,
    TerminalFormatter,
    log_handler,
    wants_json,
)
from common.settings import Settings, SettingsError


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def emit(handler: logging.Handler, level: int, message: str, **fields: object) -> str:
    logger = logging.getLogger(f"delos.test.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        logger.log(level, message, extra=fields)
    finally:
        logger.removeHandler(handler)
    stream = handler.stream  # type: ignore[attr-defined]
    return str(stream.getvalue())


def test_json_line_has_cloud_logging_keys_and_the_delos_fields() -> None:
    fields = {"symbol": "BTC", "exchange": "kraken", "message_id": "m-1", "delivery_attempt": 2}
    fields |= {"outcome": "refreshed", "duration_ms": 12.5, "rpc": "x/Y", "status": "OK"}
    line = emit(log_handler("json", io.StringIO()), logging.WARNING, "refresh of BTC: refreshed", **fields)
    entry = json.loads(line)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "refresh of BTC: refreshed"
    assert entry["time"].endswith("+00:00")
    assert entry[SOURCE_LOCATION_KEY]["file"].endswith("test_log_format.py")
    assert entry[SOURCE_LOCATION_KEY]["function"] == "emit"
    assert {name: entry[name] for name in LOG_FIELDS} == fields
    assert line.count("\n") == 1


def test_a_traceback_stays_inside_the_one_json_line() -> None:
    handler = log_handler("json", io.StringIO())
    logger = logging.getLogger("delos.test.traceback")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("unexpected error")
    finally:
        logger.removeHandler(handler)
    text = handler.stream.getvalue()  # type: ignore[attr-defined]
    (line,) = text.splitlines()
    entry = json.loads(line)
    assert entry["severity"] == "ERROR" and "ValueError: boom" in entry["stack_trace"]


def test_terminal_line_is_readable_and_lists_the_fields_it_carries() -> None:
    line = emit(log_handler("auto", Terminal()), logging.INFO, "refresh of ETH: retry", symbol="ETH", outcome="retry")
    assert re.fullmatch(r"\S+ \S+ INFO delos\.test\.\d+: refresh of ETH: retry \[symbol=ETH outcome=retry\]\n", line), (
        line
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.parametrize(
    ("log_format", "terminal", "expected"),
    [("auto", False, True), ("auto", True, False), ("json", True, True), ("text", False, False)],
)
def test_json_unless_a_person_reads_a_terminal(log_format: str, terminal: bool, expected: bool) -> None:
    stream = Terminal() if terminal else io.StringIO()
    assert wants_json(log_format, stream) is expected
    formatter = log_handler(log_format, stream).formatter
    assert isinstance(formatter, CloudLoggingFormatter if expected else TerminalFormatter)


def test_log_format_setting_is_auto_by_default_and_checked() -> None:
    assert Settings.from_env({}).log_format == "auto"
    assert Settings.from_env({"DELOS_LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(SettingsError, match="DELOS_LOG_FORMAT"):
        Settings.from_env({"DELOS_LOG_FORMAT": "xml"})
