"""Encrypts MCP header and env values at rest with a Fernet key, and redacts them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken

from faceplate.structs import HttpConfig, McpServerConfig, SseConfig, StdioConfig

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


def redact(config: McpServerConfig) -> McpServerConfig:
    """The config as shown to clients: every secret value replaced by REDACTED."""
    return _with_secrets(config, dict.fromkeys(_secrets(config), REDACTED))


def keep_redacted(new: McpServerConfig, old_clear: McpServerConfig) -> McpServerConfig:
    """A PATCH that sends REDACTED for a key keeps that key's stored value."""
    old = _secrets(old_clear)
    merged = {k: (old.get(k, "") if v == REDACTED else v) for k, v in _secrets(new).items()}
    return _with_secrets(new, merged)


def _secrets(config: McpServerConfig) -> dict[str, str]:
    if isinstance(config, StdioConfig):
        return dict(config.env)
    return dict(config.headers)


def _with_secrets(config: McpServerConfig, values: dict[str, str]) -> McpServerConfig:
    if isinstance(config, StdioConfig):
        return StdioConfig(command=config.command, args=list(config.args), env=values)
    if isinstance(config, SseConfig):
        return SseConfig(url=config.url, headers=values)
    return HttpConfig(url=config.url, headers=values)
