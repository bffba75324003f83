"""Encrypts MCP secrets at rest with a Fernet key (header and env values, OAuth client secrets
and tokens), and redacts them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import msgspec
from cryptography.fernet import Fernet, InvalidToken

from faceplate.structs import McpServerConfig, OAuthClient, StdioConfig

REDACTED: Final = "********"
_KEY_FILE: Final = "secret.key"


def check_key(key: str) -> None:
    """Raise ValueError unless `key` is a Fernet key (32 bytes, URL-safe base64)."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError("not a Fernet key") from None


def load_or_create_key(data_dir: Path) -> str:
    """The dev key kept in the data dir, created once (mode 0600)."""
    path = data_dir / _KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


class SecretBox:
    """Encrypts, decrypts and redacts the secret values of MCP configs."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def _map(self, values: dict[str, str], encrypt: bool) -> dict[str, str]:
        if encrypt:
            return {k: self._fernet.encrypt(v.encode()).decode() for k, v in values.items()}
        out: dict[str, str] = {}
        for k, v in values.items():
            try:
                out[k] = self._fernet.decrypt(v.encode()).decode()
            except InvalidToken:
                out[k] = ""  # a value sealed with another key cannot be recovered
        return out

    def seal(self, config: McpServerConfig) -> McpServerConfig:
        """The config as stored: header and env values encrypted."""
        return _with_secrets(config, self._map(_secrets(config), encrypt=True))

    def open(self, config: McpServerConfig) -> McpServerConfig:
        """The config as used: header and env values in clear."""
        return _with_secrets(config, self._map(_secrets(config), encrypt=False))

    def encrypt(self, value: str) -> str:
        """One value as stored (an OAuth token, verifier or client secret)."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str | None:
        """One stored value in clear; None when it was sealed with a key no longer held."""
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            return None


def redact(config: McpServerConfig) -> McpServerConfig:
    """The config as shown to clients: every secret value replaced by REDACTED."""
    return _with_secrets(config, dict.fromkeys(_secrets(config), REDACTED))


def keep_redacted(new: McpServerConfig, old_clear: McpServerConfig) -> McpServerConfig:
    """A PATCH that sends REDACTED for a key keeps that key's stored value."""
    old = _secrets(old_clear)
    merged = {k: (old.get(k, "") if v == REDACTED else v) for k, v in _secrets(new).items()}
    return _with_secrets(new, merged)


# The pre-registered OAuth client's secret rides with the header values under a key no header
# can have (header names are tokens: no spaces), so one code path seals, opens and redacts both.
_CLIENT_SECRET: Final = " oauth client_secret"


def _secrets(config: McpServerConfig) -> dict[str, str]:
    if isinstance(config, StdioConfig):
        return dict(config.env)
    values = dict(config.headers)
    oauth = config.oauth
    if isinstance(oauth, OAuthClient) and oauth.client_secret is not None:
        values[_CLIENT_SECRET] = oauth.client_secret
    return values


def _with_secrets(config: McpServerConfig, values: dict[str, str]) -> McpServerConfig:
    if isinstance(config, StdioConfig):
        return msgspec.structs.replace(config, env=values)
    oauth = config.oauth
    secret = values.pop(_CLIENT_SECRET, None)
    if isinstance(oauth, OAuthClient) and oauth.client_secret is not None:
        oauth = msgspec.structs.replace(oauth, client_secret=secret or "")
    return msgspec.structs.replace(config, headers=values, oauth=oauth)
