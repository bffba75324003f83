from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from faceplate.settings import SettingsError, load_settings

KEY = Fernet.generate_key().decode()


def test_defaults_need_nothing() -> None:
    settings = load_settings({})
    assert settings.auth == "dev"
    assert settings.llm == "echo"
    assert settings.database_url is None
    assert settings.data_dir == Path(".faceplate")
    assert (settings.db_pool_min, settings.db_pool_max, settings.db_pool_timeout_s) == (5, 20, 30.0)
    assert settings.max_tool_rounds == 8
    assert settings.tool_timeout_s == 60.0
    assert settings.mcp_allow_private is True
    assert settings.mcp_stdio_servers is None
    assert settings.mcp_stdio_sandbox == "auto"
    assert (settings.mcp_stdio_max_per_user, settings.mcp_stdio_max_total) == (8, 64)


def test_stdio_settings_are_read() -> None:
    settings = load_settings(
        {
            "FACEPLATE_MCP_STDIO_SERVERS": " /etc/faceplate/stdio.json ",
            "FACEPLATE_MCP_STDIO_SANDBOX": "BWRAP",
            "FACEPLATE_MCP_STDIO_MAX_PER_USER": "2",
            "FACEPLATE_MCP_STDIO_MAX_TOTAL": "10",
        }
    )
    assert settings.mcp_stdio_servers == Path("/etc/faceplate/stdio.json")
    assert settings.mcp_stdio_sandbox == "bwrap"
    assert (settings.mcp_stdio_max_per_user, settings.mcp_stdio_max_total) == (2, 10)


@pytest.mark.parametrize("value", ["npx,uvx", ""])
def test_the_old_stdio_commands_setting_is_refused_naming_the_new_one(value: str) -> None:
    with pytest.raises(SettingsError, match="FACEPLATE_MCP_STDIO_SERVERS"):
        load_settings({"FACEPLATE_MCP_STDIO_COMMANDS": value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FACEPLATE_MCP_STDIO_SANDBOX", "docker"),
        ("FACEPLATE_MCP_STDIO_MAX_PER_USER", "0"),
        ("FACEPLATE_MCP_STDIO_MAX_TOTAL", "many"),
    ],
)
def test_bad_stdio_settings_are_refused_naming_them(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_cognito_derives_issuer_and_jwks_from_the_pool_id() -> None:
    settings = load_settings(
        {
            "FACEPLATE_AUTH": "cognito",
            "FACEPLATE_COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf",
            "FACEPLATE_COGNITO_CLIENT_IDS": "a, b",
            "FACEPLATE_SECRET_KEY": KEY,
            "FACEPLATE_DATABASE_URL": "postgresql://db/x",
        }
    )
    assert settings.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"
    assert settings.jwks == settings.issuer + "/.well-known/jwks.json"
    assert settings.cognito_client_ids == ("a", "b")
    assert settings.mcp_allow_private is False


def test_issuer_and_jwks_overrides() -> None:
    settings = load_settings(
        {
            "FACEPLATE_AUTH": "cognito",
            "FACEPLATE_JWT_ISSUER": "http://idp/",
            "FACEPLATE_JWKS_URL": "http://idp/keys",
            "FACEPLATE_COGNITO_CLIENT_IDS": "a",
            "FACEPLATE_SECRET_KEY": KEY,
            "FACEPLATE_DATABASE_URL": "postgresql://db/x",
        }
    )
    assert (settings.issuer, settings.jwks) == ("http://idp", "http://idp/keys")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"FACEPLATE_AUTH": "cognito"}, "FACEPLATE_COGNITO_USER_POOL_ID"),
        ({"FACEPLATE_AUTH": "magic"}, "FACEPLATE_AUTH"),
        ({"FACEPLATE_LLM": "openai"}, "FACEPLATE_LLM_MODEL"),
        ({"FACEPLATE_LLM": "anthropic"}, "FACEPLATE_LLM_MODEL"),
        ({"FACEPLATE_MAX_TOOL_ROUNDS": "many"}, "FACEPLATE_MAX_TOOL_ROUNDS"),
        ({"FACEPLATE_TOOL_TIMEOUT_S": "-1"}, "FACEPLATE_TOOL_TIMEOUT_S"),
        ({"FACEPLATE_DB_POOL_MAX": "0"}, "FACEPLATE_DB_POOL_MAX"),
        ({"FACEPLATE_DB_POOL_MIN": "30"}, "FACEPLATE_DB_POOL_MIN"),
        ({"FACEPLATE_MCP_ALLOW_PRIVATE": "perhaps"}, "FACEPLATE_MCP_ALLOW_PRIVATE"),
        ({"FACEPLATE_SECRET_KEY": "short"}, "FACEPLATE_SECRET_KEY"),
        ({"FACEPLATE_DATABASE_URL": "mysql://x"}, "FACEPLATE_DATABASE_URL"),
        (
            {
                "FACEPLATE_AUTH": "cognito",
                "FACEPLATE_COGNITO_USER_POOL_ID": "nounderscore",
                "FACEPLATE_COGNITO_CLIENT_IDS": "a",
            },
            "FACEPLATE_COGNITO_USER_POOL_ID",
        ),
        (
            {"FACEPLATE_AUTH": "cognito", "FACEPLATE_COGNITO_USER_POOL_ID": "eu-west-1_x"},
            "FACEPLATE_COGNITO_CLIENT_IDS",
        ),
        (
            {
                "FACEPLATE_AUTH": "cognito",
                "FACEPLATE_COGNITO_USER_POOL_ID": "eu-west-1_x",
                "FACEPLATE_COGNITO_CLIENT_IDS": "a",
            },
            "FACEPLATE_SECRET_KEY",
        ),
        (
            {
                "FACEPLATE_AUTH": "cognito",
                "FACEPLATE_COGNITO_USER_POOL_ID": "eu-west-1_x",
                "FACEPLATE_COGNITO_CLIENT_IDS": "a",
                "FACEPLATE_SECRET_KEY": KEY,
            },
            "FACEPLATE_DATABASE_URL",
        ),
    ],
)
def test_invalid_settings_are_refused_with_one_line(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert names in message
    assert "\n" not in message


def test_the_page_is_on_unless_turned_off() -> None:
    assert load_settings({}).web is True
    assert load_settings({"FACEPLATE_WEB": "false"}).web is False
    with pytest.raises(SettingsError, match="FACEPLATE_WEB"):
        load_settings({"FACEPLATE_WEB": "sometimes"})


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("auth.example.com", "https://auth.example.com"),
        ("https://Auth.Example.com/", "https://auth.example.com"),
        (
            "myapp.auth.eu-west-1.amazoncognito.com",
            "https://myapp.auth.eu-west-1.amazoncognito.com",
        ),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ],
)
def test_the_cognito_domain_becomes_an_origin(raw: str, origin: str) -> None:
    assert load_settings({"FACEPLATE_COGNITO_DOMAIN": raw}).cognito_domain == origin


@pytest.mark.parametrize(
    "raw", ["http://auth.example.com", "ftp://auth.example.com", "auth example", "https://a/b"]
)
def test_a_cognito_domain_that_is_not_one_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="FACEPLATE_COGNITO_DOMAIN"):
        load_settings({"FACEPLATE_COGNITO_DOMAIN": raw})


def test_the_many_tenant_settings_have_the_contract_s_defaults() -> None:
    settings = load_settings({})
    assert (settings.llm_context_tokens, settings.llm_max_output_tokens) == (128_000, 4096)
    assert (settings.mcp_max_result_bytes, settings.mcp_max_tools) == (1_048_576, 128)
    assert settings.limit_sockets_per_user == 32
    assert settings.limit_requests_per_minute == 600
    assert settings.limit_mcp_configs == 50
    assert settings.log_format == "text"
    assert settings.secret_keys == ()


def test_the_many_tenant_settings_are_read() -> None:
    other = Fernet.generate_key().decode()
    settings = load_settings(
        {
            "FACEPLATE_LLM_CONTEXT_TOKENS": "8000",
            "FACEPLATE_LLM_MAX_OUTPUT_TOKENS": "1000",
            "FACEPLATE_MCP_MAX_RESULT_BYTES": "65536",
            "FACEPLATE_MCP_MAX_TOOLS": "10",
            "FACEPLATE_LIMIT_SOCKETS_PER_USER": "4",
            "FACEPLATE_LIMIT_REQUESTS_PER_MINUTE": "100",
            "FACEPLATE_LIMIT_MCP_CONFIGS": "5",
            "FACEPLATE_LOG_FORMAT": "JSON",
            "FACEPLATE_SECRET_KEY": f" {KEY} , {other} ",
        }
    )
    assert (settings.llm_context_tokens, settings.llm_max_output_tokens) == (8000, 1000)
    assert (settings.mcp_max_result_bytes, settings.mcp_max_tools) == (65536, 10)
    assert (settings.limit_sockets_per_user, settings.limit_requests_per_minute) == (4, 100)
    assert settings.limit_mcp_configs == 5
    assert settings.log_format == "json"
    assert settings.secret_keys == (KEY, other)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"FACEPLATE_LLM_MAX_OUTPUT_TOKENS": "9000", "FACEPLATE_LLM_CONTEXT_TOKENS": "8000"},
            "FACEPLATE_LLM_MAX_OUTPUT_TOKENS must be below",
        ),
        ({"FACEPLATE_LIMIT_SOCKETS_PER_USER": "0"}, "FACEPLATE_LIMIT_SOCKETS_PER_USER"),
        ({"FACEPLATE_MCP_MAX_RESULT_BYTES": "10"}, "FACEPLATE_MCP_MAX_RESULT_BYTES"),
        ({"FACEPLATE_LOG_FORMAT": "xml"}, "FACEPLATE_LOG_FORMAT"),
        ({"FACEPLATE_SECRET_KEY": f"{KEY},nope"}, "FACEPLATE_SECRET_KEY: key 2"),
        ({"FACEPLATE_SECRET_KEY": " , "}, "FACEPLATE_SECRET_KEY names no key"),
    ],
)
def test_invalid_many_tenant_settings_are_refused(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        load_settings(env)


def test_the_approval_settings_default_to_never_and_ten_minutes() -> None:
    settings = load_settings({})
    assert (settings.tool_approval_default, settings.approval_timeout_s) == ("never", 600.0)


def test_the_approval_settings_are_read() -> None:
    env = {"FACEPLATE_TOOL_APPROVAL_DEFAULT": "writes", "FACEPLATE_APPROVAL_TIMEOUT_S": "30"}
    settings = load_settings(env)
    assert (settings.tool_approval_default, settings.approval_timeout_s) == ("writes", 30.0)


@pytest.mark.parametrize(
    "env",
    [
        {"FACEPLATE_TOOL_APPROVAL_DEFAULT": "sometimes"},
        {"FACEPLATE_APPROVAL_TIMEOUT_S": "0"},
        {"FACEPLATE_APPROVAL_TIMEOUT_S": "soon"},
    ],
)
def test_bad_approval_settings_are_refused_naming_them(env: dict[str, str]) -> None:
    (name,) = env
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


def test_metrics_are_off_unless_turned_on_and_their_token_is_a_bearer_token() -> None:
    assert (load_settings({}).metrics, load_settings({}).metrics_token) == (False, None)
    on = load_settings(
        {"FACEPLATE_METRICS": "true", "FACEPLATE_METRICS_TOKEN": " abc-DEF_1.~+/== "}
    )
    assert (on.metrics, on.metrics_token) == (True, "abc-DEF_1.~+/==")
    for bad in ("two words", "tök", "a=b", 'quote"'):
        with pytest.raises(SettingsError, match="FACEPLATE_METRICS_TOKEN") as e:
            load_settings({"FACEPLATE_METRICS_TOKEN": bad})
        assert bad not in str(e.value)  # a secret is never echoed
    with pytest.raises(SettingsError, match="FACEPLATE_METRICS"):
        load_settings({"FACEPLATE_METRICS": "maybe"})
