"""The `faceplate` command: serve, migrate, rotate-secrets, token."""

from __future__ import annotations

import argparse
import contextlib
import logging
import logging.config
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence

from faceplate.logs import HideCallbackQuery as HideCallbackQuery
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


_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def _metrics_dir(settings: Settings, *, workers: int) -> Iterator[None]:
    """With metrics on and several workers, each worker keeps its metrics in a file of one
    fresh directory, and whichever answers a scrape merges them all; removed at exit. A
    directory the operator set is theirs (prometheus_client wants it emptied between runs)."""
    if not settings.metrics or workers < 2 or os.environ.get(_MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="faceplate-metrics-")
    os.environ[_MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(_MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from faceplate.logs import log_config as make_log_config

    settings = _settings()
    _check_stdio(settings)
    log_config = make_log_config(settings.log_format, access_log=not args.no_access_log)
    logging.config.dictConfig(log_config)
    if args.workers > 1 and not args.reload:
        # Each worker is an instance of its own (CONTRACT §10): with FACEPLATE_INSTANCE_ID set,
        # they are told apart by their pid.
        os.environ["FACEPLATE_WORKERS"] = str(args.workers)
    url = settings.database_url
    if url is None:
        # One embedded server for every worker: start it here and hand its URL down.
        url = os.environ["FACEPLATE_DATABASE_URL"] = _database_url(settings)
    if settings.auth == "dev":
        _migrate_at_start(url)
    else:
        _log.info("cognito mode: migrations are the deploy's; /readyz is 503 until they ran")
    with _metrics_dir(settings, workers=1 if args.reload else args.workers):
        uvicorn.run(
            "faceplate.app:app",
            host=args.host,
            port=args.port,
            workers=None if args.reload else args.workers,
            reload=args.reload,
            log_level="info",
            log_config=log_config,
            # The app writes the access log itself (faceplate.logs.AccessHandler), in batches.
            access_log=False,
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


def rotate_secrets(args: argparse.Namespace) -> int:
    """Re-encrypt every stored secret with the first key; 1 if some value no key decrypts."""
    import asyncio

    from faceplate.db import open_database
    from faceplate.secrets import SecretBox, load_or_create_key
    from faceplate.services.secret_rotation import rotate_secrets as rotate

    settings = _settings()
    url = _database_url(settings)
    keys = settings.secret_keys or (load_or_create_key(settings.data_dir),)

    async def run() -> int:
        db = await open_database(url, min_size=1, max_size=2)
        try:
            done = await rotate(db, SecretBox(keys))
        finally:
            await db.close()
        failed = 0
        for store in done:
            line = f"{store.store}: {store.values} re-encrypted with the first key"
            if store.changed_meanwhile:
                line += f", {store.changed_meanwhile} rows changed meanwhile (already current)"
            print(line)
            for value in store.unreadable:
                failed += 1
                print(f"  no key decrypts {value}: left as it is", file=sys.stderr)
        if failed:
            print(
                f"faceplate: {failed} value(s) no key of FACEPLATE_SECRET_KEY decrypts; their "
                "configs stay unusable until their owners send the values again",
                file=sys.stderr,
            )
        return 1 if failed else 0

    return asyncio.run(run())


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

    r = commands.add_parser(
        "rotate-secrets", help="re-encrypt every stored secret with the first FACEPLATE_SECRET_KEY"
    )
    r.set_defaults(run=rotate_secrets)

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
