"""Encrypts MCP secrets at rest with Fernet keys (header and env values, OAuth client secrets
and tokens), redacts them, and decides which stored values a changed config may keep.

FACEPLATE_SECRET_KEY may list several keys: the first encrypts, every one decrypts, so a key is
rotated by putting the new one first and running `faceplate rotate-secrets`. A value no key
decrypts is never replaced by anything: the config that holds it cannot be used until its owner
sends the value again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from faceplate.errors import Invalid
from faceplate.structs import McpServerConfig, OAuthClient, StdioConfig

REDACTED: Final = "********"
_KEY_FILE: Final = "secret.key"


class UnreadableSecrets(Exception):
    """Stored secret values that no configured key decrypts; `fields` names them
    (`config.headers.Authorization`, `config.env.TOKEN`)."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        super().__init__(", ".join(self.fields))

    @property
    def reason(self) -> str:
        """Why the config cannot be used, for its owner, the model and the log."""
        one = len(self.fields) == 1
        return (
            f"the stored {'value' if one else 'values'} of {', '.join(self.fields)} cannot be "
            f"decrypted with the configured FACEPLATE_SECRET_KEY; send {'it' if one else 'them'} "
            "again (PATCH) to use this config"
        )


def check_key(key: str) -> None:
    """Raise ValueError unless `key` is a Fernet key (32 bytes, URL-safe base64)."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError("not a Fernet key") from None


def load_or_create_key(data_dir: Path) -> str:
    """The dev key kept in the data dir, created once (mode 0600).

    Several instances (or workers) may start at once on one new data dir: the key is written
    whole to a file of this process's own, then linked into place, which fails if another
    process linked first; then that one's key is used. Nobody ever reads a half-written key.
    """
    path = data_dir / _KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    draft = data_dir / f".{_KEY_FILE}.{os.getpid()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key)
        os.link(draft, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        draft.unlink(missing_ok=True)
    return key


class SecretBox:
    """Encrypts with the first of its keys; decrypts with any of them."""

    def __init__(self, keys: str | Sequence[str]) -> None:
        listed = [keys] if isinstance(keys, str) else list(keys)
        if not listed:
            raise ValueError("a SecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in listed])

    def encrypt(self, value: str) -> str:
        """One value as stored (a header or env value, an OAuth token, verifier or client
        secret), encrypted with the first key."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str | None:
        """One stored value in clear; None when no key decrypts it."""
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            return None

    def rotate(self, value: str) -> str | None:
        """A stored value encrypted anew with the first key; None when no key decrypts it."""
        try:
            return self._fernet.rotate(value.encode()).decode()
        except InvalidToken:
            return None

    def rotate_config(self, config: McpServerConfig) -> tuple[McpServerConfig, int, list[str]]:
        """A stored config with every secret value encrypted anew with the first key, how many
        were, and the keys of the values no key decrypts (left as they are stored)."""
        values: dict[str, str] = {}
        unreadable: list[str] = []
        for key, sealed in _secrets(config).items():
            rotated = self.rotate(sealed)
            if rotated is None:
                unreadable.append(key)
            values[key] = sealed if rotated is None else rotated
        rotated_count = len(values) - len(unreadable)  # before _with_secrets takes its keys
        return _with_secrets(config, values), rotated_count, unreadable

    def seal(self, config: McpServerConfig) -> McpServerConfig:
        """The config as stored: its secret values encrypted."""
        return _with_secrets(config, {k: self.encrypt(v) for k, v in _secrets(config).items()})

    def open(self, config: McpServerConfig) -> McpServerConfig:
        """The config as used, secret values in clear; UnreadableSecrets if a value cannot be."""
        clear, unreadable = self.open_readable(config)
        if unreadable:
            raise UnreadableSecrets([field_name(config, key) for key in unreadable])
        return clear

    def open_readable(self, config: McpServerConfig) -> tuple[McpServerConfig, list[str]]:
        """The config with every value that can be decrypted in clear, and the keys of those
        that cannot (left out of the config returned)."""
        clear: dict[str, str] = {}
        unreadable: list[str] = []
        for key, sealed in _secrets(config).items():
            value = self.decrypt(sealed)
            if value is None:
                unreadable.append(key)
            else:
                clear[key] = value
        return _with_secrets(config, clear), unreadable


def redact(config: McpServerConfig) -> McpServerConfig:
    """The config as shown to clients: every secret value replaced by REDACTED."""
    return _with_secrets(config, dict.fromkeys(_secrets(config), REDACTED))


def keep_redacted(
    new: McpServerConfig,
    old_clear: McpServerConfig,
    *,
    unreadable: Sequence[str] = (),
) -> McpServerConfig:
    """A PATCH that sends REDACTED for a key keeps that key's stored value: unless the PATCH
    re-points the config (`repointed`), or the stored value cannot be decrypted (`unreadable`);
    then it is Invalid, naming the key."""
    moved = repointed(old_clear, new)
    old = _secrets(old_clear)
    merged: dict[str, str] = {}
    for key, value in _secrets(new).items():
        if value != REDACTED:
            merged[key] = value
            continue
        field = field_name(new, key)
        if moved:
            raise Invalid(
                f"{field}: the config now points elsewhere (another {_what_moved(new)}), so "
                f'every secret must be sent again, not "{REDACTED}"'
            )
        if key in unreadable:
            raise Invalid(
                f"{field}: the stored value cannot be decrypted with the configured "
                "FACEPLATE_SECRET_KEY; send the value again"
            )
        if key not in old:
            raise Invalid(f'{field}: there is no stored value to keep with "{REDACTED}"')
        merged[key] = old[key]
    return _with_secrets(new, merged)


# The pre-registered OAuth client's secret rides with the header values under a key no header
# can have (header names are tokens: no spaces), so one code path seals, opens and redacts both.
_CLIENT_SECRET: Final = " oauth client_secret"


def repointed(old: McpServerConfig, new: McpServerConfig) -> bool:
    """Whether `new` sends the config's secrets somewhere else than `old`: another URL scheme,
    host or port, another stdio command or args, or another kind of transport."""
    if isinstance(old, StdioConfig) or isinstance(new, StdioConfig):
        if not (isinstance(old, StdioConfig) and isinstance(new, StdioConfig)):
            return True
        return (old.command, list(old.args)) != (new.command, list(new.args))
    return _origin(old.url) != _origin(new.url)


def field_name(config: McpServerConfig, key: str) -> str:
    """Where a secret value sits in a config body, as a validation error names it."""
    if isinstance(config, StdioConfig):
        return f"config.env.{key}"
    return "config.oauth.client_secret" if key == _CLIENT_SECRET else f"config.headers.{key}"


def _what_moved(config: McpServerConfig) -> str:
    return "command or args" if isinstance(config, StdioConfig) else "scheme, host or port"


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    except ValueError:
        return None
    return scheme, (parts.hostname or "").rstrip(".").lower(), port


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
