from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from faceplate.cli import HideCallbackQuery
from faceplate.settings import SettingsError, load_settings

COGNITO = {
    "FACEPLATE_AUTH": "cognito",
    "FACEPLATE_COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf",
    "FACEPLATE_COGNITO_CLIENT_IDS": "a",
    "FACEPLATE_SECRET_KEY": Fernet.generate_key().decode(),
    "FACEPLATE_DATABASE_URL": "postgresql://db/x",
}


def test_in_dev_the_callback_is_on_the_default_address() -> None:
    settings = load_settings({})

    assert settings.oauth_callback_url == "http://127.0.0.1:8000/oauth/callback"
    assert (settings.oauth_return_url, settings.oauth_client_metadata_url) == (None, None)


def test_the_callback_follows_the_public_url() -> None:
    settings = load_settings({"FACEPLATE_PUBLIC_URL": "https://chat.example.com/app/"})

    assert settings.oauth_callback_url == "https://chat.example.com/app/oauth/callback"


def test_in_cognito_mode_oauth_needs_the_public_url() -> None:
    assert load_settings(COGNITO).oauth_callback_url is None
    settings = load_settings({**COGNITO, "FACEPLATE_PUBLIC_URL": "https://chat.example.com"})
    assert settings.oauth_callback_url == "https://chat.example.com/oauth/callback"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"FACEPLATE_PUBLIC_URL": "chat.example.com"}, "FACEPLATE_PUBLIC_URL"),
        ({"FACEPLATE_PUBLIC_URL": "https://chat.example.com/?x=1"}, "FACEPLATE_PUBLIC_URL"),
        ({**COGNITO, "FACEPLATE_PUBLIC_URL": "http://chat.example.com"}, "https in cognito"),
        ({"FACEPLATE_OAUTH_RETURN_URL": "javascript:alert(1)"}, "FACEPLATE_OAUTH_RETURN_URL"),
        ({"FACEPLATE_OAUTH_RETURN_URL": "https://a.example/#x"}, "FACEPLATE_OAUTH_RETURN_URL"),
        (
            {"FACEPLATE_OAUTH_CLIENT_METADATA_URL": "http://a.example/client.json"},
            "FACEPLATE_OAUTH_CLIENT_METADATA_URL",
        ),
        (
            {"FACEPLATE_OAUTH_CLIENT_METADATA_URL": "https://a.example/"},
            "FACEPLATE_OAUTH_CLIENT_METADATA_URL",
        ),
        ({"FACEPLATE_PUBLIC_URL": "https://a.example:99999"}, "FACEPLATE_PUBLIC_URL"),
    ],
)
def test_bad_oauth_urls_are_refused_with_one_line(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names) as caught:
        load_settings(env)
    assert "\n" not in str(caught.value)


def test_the_access_log_hides_the_callbacks_query() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/oauth/callback?code=secret-code&state=s", "1.1", 200),
        None,
    )
    other = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/v1/me?x=1", "1.1", 200),
        None,
    )

    assert HideCallbackQuery().filter(record) and HideCallbackQuery().filter(other)

    assert record.getMessage() == '127.0.0.1:5 - "GET /oauth/callback?… HTTP/1.1" 200'
    assert other.getMessage() == '127.0.0.1:5 - "GET /v1/me?x=1 HTTP/1.1" 200'
