"""Log lines for Cloud Logging (one JSON object each) or for a person at a terminal.

Cloud Run hands every line written to stdout/stderr to Cloud Logging, which reads a JSON
object's `severity`, `message`, `time` and `logging.googleapis.com/sourceLocation` as the entry's
own fields and keeps the rest as `jsonPayload`. Plain text would be filed under one severity.
python-json-logger does the encoding; this module only names the fields the way Cloud Logging
expects them.

Delos's own fields arrive through `extra=` (see LOG_FIELDS); no log call passes investment
amounts, and the formatters add nothing that could hold them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

# Fields Delos attaches to records with `extra=`; README "Operating Delos" says what each means.
LOG_FIELDS = ("symbol", "exchange", "message_id", "delivery_attempt", "outcome", "duration_ms", "rpc", "status")
SOURCE_LOCATION_KEY = "logging.googleapis.com/sourceLocation"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CloudLoggingFormatter(JsonFormatter):
    """One JSON object per record, in Cloud Logging's structured-logging layout."""

    def __init__(self) -> None:
        # Only the message comes from the record's format; `extra=` fields are added by the library.
        super().__init__("%(message)s", rename_fields={"exc_info": "stack_trace"})

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["severity"] = record.levelname
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat()
        log_data["logger"] = record.name
        log_data[SOURCE_LOCATION_KEY] = {
            "file": record.pathname,
            "line": str(record.lineno),
            "function": record.funcName,
        }


class TerminalFormatter(logging.Formatter):
    """The classic one-line format, followed by the Delos fields the record carries (`symbol=BTC`)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{name}={getattr(record, name)}" for name in LOG_FIELDS if hasattr(record, name))
        if not fields:
            return line
        first, newline, rest = line.partition("\n")  # keep a traceback below the fields
        return f"{first} [{fields}]{newline}{rest}"


def wants_json(log_format: str, stream: TextIO) -> bool:
    """JSON when asked, or in "auto" when nobody reads the stream at a terminal (containers, pipes, files)."""
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def log_handler(log_format: str, stream: TextIO) -> logging.Handler:
    """A handler on `stream` with the formatter `log_format` calls for."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CloudLoggingFormatter() if wants_json(log_format, stream) else TerminalFormatter())
    return handler
