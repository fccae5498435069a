"""The operators' subcommands (`status`, `dead-letters`, `publish --wait`'s follower), parsed and dispatched here.

Kept apart from cli/__main__.py so the user-facing commands and these change independently.
"""

from __future__ import annotations

import argparse

from cli.dead_letters import DEFAULT_LIMIT
from common.settings import Settings


def add_to(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`status`, `dead-letters`: what operators run to see and steer Delos (README "Operating Delos")."""
    status = commands.add_parser(
        "status", help="every coin's freshness and last failure; exit 1 if any is stale or failing"
    )
    status.add_argument("--json", action="store_true", help="print the rows and the summary as JSON")
    publish = commands.choices["publish"]
    publish.add_argument("--wait", action="store_true", help="follow the store until every coin refreshed or failed")
    publish.add_argument("--timeout", type=_positive_seconds, default=900.0, metavar="SECONDS", help="with --wait")
    dead = commands.add_parser("dead-letters", help="list refresh messages that failed every attempt; --replay them")
    dead.add_argument("--replay", action="store_true", help="republish them to the refresh topic, then remove them")
    dead.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT, metavar="N", help="at most N (default 100)")


def run(settings: Settings, args: argparse.Namespace) -> int | None:
    """Run `args.command` if it is an operator command; None otherwise."""
    if args.command == "status":
        from datetime import UTC, datetime

        import bootstrap
        from cli.status import status

        return status(lambda: bootstrap.status_reader(settings), datetime.now(UTC), args.json)
    if args.command == "dead-letters":
        import bootstrap
        from cli.dead_letters import dead_letters

        return dead_letters(
            lambda: bootstrap.dead_letter_box(settings),
            lambda: bootstrap.status_reader(settings).failures(),
            lambda: bootstrap.refresh_queue(settings),
            limit=args.limit,
            replay=args.replay,
        )
    if args.command == "publish" and args.wait:
        from cli.publish_wait import publish_with_wait

        return publish_with_wait(settings, args.symbols, args.all, args.force, args.timeout)
    return None


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
