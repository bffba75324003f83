"""The `faceplate` command: serve, migrate, token."""

from __future__ import annotations

import argparse
import copy
import logging
import logging.config
import os
import sys
from collections.abc import Sequence
from typing import Any

from faceplate.settings import Settings, SettingsError, load_settings

# By name, not __name__: run as `python -m faceplate.cli`, this module is __main__.
_log = logging.getLogger("faceplate.cli")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as e:
        print(f"faceplate: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def _database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    if settings.auth == "cognito":  # load_settings already refuses this; keep the CLI honest
        print("faceplate: FACEPLATE_DATABASE_URL is required", file=sys.stderr)
        raise SystemExit(2)
    from faceplate.embedded import start_embedded

    return start_embedded(settings.data_dir)


class HideCallbackQuery(logging.Filter):
    """The access log line of `/oauth/callback` without its query: it holds a code and a state."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            if sep and path == "/oauth/callback":
                record.args = (*args[:2], f"{path}?…", *args[3:])
        return True


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging, with the `faceplate` loggers shown the same way from INFO."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["faceplate"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config.setdefault("filters", {})["hide_callback_query"] = {
        "()": "faceplate.cli.HideCallbackQuery"
    }
    config["loggers"]["uvicorn.access"]["filters"] = ["hide_callback_query"]
    return config


def _migrate_at_start(url: str) -> None:
    """Dev mode: bring the schema to head before any worker starts, and say what was done."""
    import psycopg

    from faceplate import migrate

    try:
        applied = migrate.apply(url)
    except (psycopg.Error, OSError) as e:  # the app tries again until the database answers
        _log.warning("migrations not applied yet, the database is away: %s", type(e).__name__)
        return
    if applied:
        _log.info("migrations applied: %s", ", ".join(applied))
    else:
        _log.info("migrations: none pending, the schema is at %s", max(migrate.migration_ids()))


def _check_stdio(settings: Settings) -> None:
    """Refuse a bad stdio servers file, or a sandbox asked for that does not work."""
    from faceplate.mcp_client.stdio.runtime import StdioSetupError, stdio_runtime

    try:
        stdio_runtime(
            settings.mcp_stdio_servers,
            settings.mcp_stdio_sandbox,
            data_dir=settings.data_dir,
            cognito=False,  # the app warns when it starts
        )
    except StdioSetupError as e:
        print(f"faceplate: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    _check_stdio(settings)
    log_config = _log_config()
    logging.config.dictConfig(log_config)
    if args.workers > 1 and not args.reload:
        print(
            "faceplate: warning: with several workers a turn is seen only by sockets of its own "
            "worker, and two workers may run turns of one conversation at once",
            file=sys.stderr,
        )
    url = settings.database_url
    if url is None:
        # One embedded server for every worker: start it here and hand its URL down.
        url = os.environ["FACEPLATE_DATABASE_URL"] = _database_url(settings)
    if settings.auth == "dev":
        _migrate_at_start(url)
    else:
        _log.info("cognito mode: migrations are the deploy's; /readyz is 503 until they ran")
    uvicorn.run(
        "faceplate.app:app",
        host=args.host,
        port=args.port,
        workers=None if args.reload else args.workers,
        reload=args.reload,
        log_level="info",
        log_config=log_config,
        access_log=not args.no_access_log,
        # The contract's frame limit; larger frames close with 1009 before they are buffered.
        ws_max_size=1024 * 1024,
    )
    return 0


def migrate_command(args: argparse.Namespace) -> int:
    from faceplate import migrate

    url = _database_url(_settings())
    if args.action == "apply":
        applied = migrate.apply(url)
        print("\n".join(applied) if applied else "nothing to apply")
    elif args.action == "rollback":
        undone = migrate.rollback(url, all=args.all)
        print("\n".join(undone) if undone else "nothing to roll back")
    else:
        for migration_id, done in migrate.status(url):
            print(f"{'A' if done else 'U'}  {migration_id}")
    return 0


def token(args: argparse.Namespace) -> int:
    from faceplate.auth.dev import load_or_create_secret, mint_token

    settings = _settings()
    if settings.auth != "dev":
        print("faceplate: tokens come from Cognito when FACEPLATE_AUTH=cognito", file=sys.stderr)
        return 2
    secret = load_or_create_secret(settings.data_dir)
    print(mint_token(secret, email=args.email, ttl_s=args.ttl))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="faceplate", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    s = commands.add_parser("serve", help="serve HTTP and WebSocket")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    s.add_argument("--no-access-log", action="store_true", help="no line per request")
    s.set_defaults(run=serve)

    m = commands.add_parser("migrate", help="apply, roll back or list migrations")
    m.add_argument("action", choices=["apply", "rollback", "list"], nargs="?", default="list")
    m.add_argument("--all", action="store_true", help="with rollback: every migration")
    m.set_defaults(run=migrate_command)

    t = commands.add_parser("token", help="print a dev-mode bearer token")
    t.add_argument("email")
    t.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="lifetime in seconds")
    t.set_defaults(run=token)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
