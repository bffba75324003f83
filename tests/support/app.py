"""Building the real app for tests: settings on a test database, dev tokens, a client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faceplate.auth.dev import load_or_create_secret, mint_token
from faceplate.settings import Settings, check


def dev_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Dev-mode settings against `database_url`, small pool, keys kept in `data_dir`."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "db_pool_min": 1,
        "db_pool_max": 20,
        "db_pool_timeout_s": 5.0,
    }
    values.update(overrides)
    settings = Settings(**values)
    check(settings)
    return settings


def dev_token(settings: Settings, email: str, *, subject: str | None = None) -> str:
    """A dev bearer token the app started with `settings` accepts."""
    return mint_token(load_or_create_secret(settings.data_dir), email=email, subject=subject)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
