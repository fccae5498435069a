"""`delos`: the command line for operators and users (`pipenv run delos --help`)."""

from __future__ import annotations

import argparse
import os
import sys

from cli import operator_commands
from common.exchanges import ASKABLE
from common.settings import Settings, SettingsError


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="delos", description="Could a coin bought at listing buy a Lamborghini now?")
    commands = root.add_subparsers(dest="command", required=True)
    reset_help = "move a damaged embedded store or queue aside (renamed, kept) and start empty"
    serve = commands.add_parser("serve", help="run the gRPC query service")
    serve.add_argument("--reset-store", action="store_true", help=reset_help)
    worker = commands.add_parser("worker", help="run the ingest worker")
    worker.add_argument("--reset-store", action="store_true", help=reset_help)
    run = commands.add_parser("run", help="worker + query service + local scheduler in one process")
    run.add_argument("--offline", action="store_true", help="use the bundled sample history (labelled sample data)")
    run.add_argument("--reset-store", action="store_true", help=reset_help)
    backup_command = commands.add_parser("backup", help="copy the embedded store safely, even while Delos runs")
    backup_command.add_argument("path", metavar="PATH", help="the new file to write (must not exist)")
    publish = commands.add_parser("publish", help="ask the worker to refresh coins")
    publish.add_argument("symbols", nargs="*", metavar="SYMBOL")
    publish.add_argument("--all", action="store_true", help="every coin (DELOS_COINS; all USD pairs in gcp mode)")
    publish.add_argument("--force", action="store_true", help="recompute the listing too")
    ask = commands.add_parser("ask", help="ask the query service a lambo question")
    ask.add_argument("symbol", metavar="SYMBOL")
    ask.add_argument("--invest", type=float, required=True, metavar="USD")
    ask.add_argument("--lambo-price", type=float, default=None, metavar="USD")
    ask.add_argument("--sell", choices=("mean", "best", "worst", "latest"), default="mean")
    ask.add_argument("--exchange", choices=ASKABLE, default=None, help="as if bought at this exchange's listing")
    ask.add_argument("--json", action="store_true", help="print the response in protobuf's JSON mapping")
    ask.add_argument("--target", default=None, metavar="HOST:PORT", help="default 127.0.0.1:$PORT")
    operator_commands.add_to(commands)
    return root


def publish(settings: Settings, symbols: list[str], every: bool, force: bool) -> int:
    import bootstrap
    from common import messages
    from common.errors import DelosError, InvalidRequest
    from common.symbols import normalize_symbol

    if every == bool(symbols):
        print("delos publish: give SYMBOL ... or --all", file=sys.stderr)
        return 2
    try:
        request = messages.RefreshRequest(symbols=tuple(normalize_symbol(s) for s in symbols), all=every, force=force)
    except InvalidRequest as exc:
        print(f"delos publish: {exc}", file=sys.stderr)
        return 2
    try:
        queue = bootstrap.refresh_queue(settings)
        try:
            message_id = queue.publish(messages.encode(request), {"origin": "delos-publish"})
        finally:
            bootstrap.close(queue)
    except DelosError as exc:
        return bootstrap.fail("delos publish", exc)
    print(f"published {message_id}: {messages.encode(request).decode()}")
    return 0


def backup(settings: Settings, target: str) -> int:
    """Copy the embedded store with SQLite's online backup API: a consistent snapshot while workers write."""
    import bootstrap
    from common.errors import DelosError

    if settings.backend != "embedded":
        print("delos backup: the embedded backend only (for Firestore use `gcloud firestore export`)", file=sys.stderr)
        return bootstrap.EXIT_CONFIG
    from pathlib import Path

    from backends.sqlite_store import SQLiteCoinStore

    try:
        store = SQLiteCoinStore(bootstrap.store_path(settings))
        try:
            coins = store.backup(Path(target))
        finally:
            store.close()
    except DelosError as exc:
        return bootstrap.fail("delos backup", exc)
    print(f"backed up {coins} coins from {bootstrap.store_path(settings)} to {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"delos: {exc}", file=sys.stderr)
        return 2
    operated = operator_commands.run(settings, args)
    if operated is not None:
        return operated
    if args.command == "ask":
        from cli.ask import ask

        target = args.target or f"127.0.0.1:{settings.port}"
        return ask(target, args.symbol, args.invest, args.lambo_price, args.sell, args.json, args.exchange)
    if args.command == "publish":
        return publish(settings, args.symbols, args.all, args.force)
    if args.command == "backup":
        return backup(settings, args.path)
    reset = ["--reset-store"] if args.reset_store else []
    if args.command == "serve":
        from query_service.__main__ import main as serve_main

        return serve_main(reset)
    if args.command == "worker":
        from ingest_worker.__main__ import main as worker_main

        return worker_main(reset)
    import bootstrap
    from cli.run import run

    bootstrap.configure_logging(settings)
    return run(settings, args.offline, args.reset_store)


if __name__ == "__main__":
    sys.exit(main())
