"""A pre-registered client's secret (config.oauth.client_secret) is a secret like a header value."""

from __future__ import annotations

import msgspec

from faceplate.secrets import REDACTED, SecretBox, keep_redacted, redact
from faceplate.structs import HttpConfig, OAuthClient, SseConfig

_CONFIG = HttpConfig(
    url="https://mcp.example.com/mcp",
    headers={"X-Team": "blue"},
    oauth=OAuthClient(client_id="faceplate", client_secret="s3cret", scopes=["read"]),
)


def test_the_client_secret_is_sealed_and_opened(box: SecretBox) -> None:
    sealed = box.seal(_CONFIG)

    assert isinstance(sealed, HttpConfig) and isinstance(sealed.oauth, OAuthClient)
    assert sealed.oauth.client_secret not in (None, "s3cret")
    assert sealed.oauth.client_id == "faceplate"
    assert sealed.oauth.scopes == ["read"]
    assert box.open(sealed) == _CONFIG


def test_the_client_secret_is_shown_redacted() -> None:
    shown = redact(_CONFIG)

    assert isinstance(shown, HttpConfig) and isinstance(shown.oauth, OAuthClient)
    assert shown.oauth.client_secret == REDACTED
    assert shown.headers == {"X-Team": REDACTED}


def test_a_redacted_client_secret_keeps_the_stored_one() -> None:
    sent = HttpConfig(
        url=_CONFIG.url,
        oauth=OAuthClient(client_id="faceplate", client_secret=REDACTED, scopes=["read", "write"]),
    )

    kept = keep_redacted(sent, _CONFIG)

    assert isinstance(kept, HttpConfig) and isinstance(kept.oauth, OAuthClient)
    assert kept.oauth.client_secret == "s3cret"
    assert kept.oauth.scopes == ["read", "write"]


def test_a_client_without_a_secret_stays_without_one(box: SecretBox) -> None:
    config = SseConfig(url="https://mcp.example.com/sse", oauth=OAuthClient(client_id="public"))

    assert box.open(box.seal(config)) == config
    assert redact(config) == config


def test_a_config_without_oauth_is_unchanged(box: SecretBox) -> None:
    config = HttpConfig(url="https://mcp.example.com/mcp", headers={"A": "b"})

    assert box.open(box.seal(config)) == config
    assert b"oauth" not in msgspec.json.encode(config)
