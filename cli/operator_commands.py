"""The operators' subcommands (`status`, `dead-letters`, `publish --wait`'s follower), parsed and dispatched here.

Kept apart from cli/__main__.py so the user-facing commands and these change independently.
"""

from __future__ import annotations

import argparse

from common.settings import Settings


def add_to(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`status`, `dead-letters`: what operators run to see and steer Delos (README "Operating Delos")."""
    status = commands.add_parser(
        "status", help="every coin's freshness and last failure; exit 1 if any is stale or failing"
    )
    status.add_argument("--json", action="store_true", help="print the rows and the summary as JSON")


def run(settings: Settings, args: argparse.Namespace) -> int | None:
    """Run `args.command` if it is an operator command; None otherwise."""
    if args.command == "status":
        from datetime import UTC, datetime

        import bootstrap
        from cli.status import status

        return status(lambda: bootstrap.status_reader(settings), datetime.now(UTC), args.json)
    return None
