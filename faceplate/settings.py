"""Settings read from FACEPLATE_* environment variables, refused with a one-line reason."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, cast
from urllib.parse import SplitResult, urlsplit

import msgspec

from faceplate.structs import ToolApproval

AuthMode = Literal["dev", "cognito"]
LlmKind = Literal["openai", "anthropic", "echo"]
StdioSandbox = Literal["auto", "bwrap", "none"]
LogFormat = Literal["text", "json"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Use the tools you are offered when they help, "
    "and answer concisely."
)


DEV_PUBLIC_URL = "http://127.0.0.1:8000"


class SettingsError(Exception):
    """A setting is invalid; the message is one line naming it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    data_dir: Path = Path(".faceplate")
    auth: AuthMode = "dev"
    cognito_user_pool_id: str | None = None
    cognito_client_ids: tuple[str, ...] = ()
    jwt_issuer: str | None = None
    jwks_url: str | None = None
    llm: LlmKind = "echo"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_models: tuple[str, ...] = ()  # FACEPLATE_LLM_MODELS as given; see `models`
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_tool_rounds: int = 8
    tool_timeout_s: float = 60.0
    # Tool approval: a new config's tool_approval, how long a turn waits for a person.
    tool_approval_default: ToolApproval = "never"
    approval_timeout_s: float = 600.0
    # stdio MCP servers: the operator's list (a JSON file), their sandbox, how many at once.
    mcp_stdio_servers: Path | None = None
    mcp_stdio_sandbox: StdioSandbox = "auto"
    mcp_stdio_max_per_user: int = 8
    mcp_stdio_max_total: int = 64
    mcp_allow_private: bool = True
    db_pool_min: int = 5
    db_pool_max: int = 20
    db_pool_timeout_s: float = 30.0
    secret_key: str | None = None
    # The chat page (CONTRACT §11): served at / unless off; signs in through this Hosted UI.
    web: bool = True
    cognito_domain: str | None = None  # an origin, "https://auth.example.com"
    # OAuth of MCP servers: where browsers reach the service, where they go after the callback,
    # and Faceplate's client metadata document (where servers accept one as the client id).
    public_url: str | None = None
    oauth_return_url: str | None = None
    oauth_client_metadata_url: str | None = None
    # Many tenants (CONTRACT §1): the model's context, MCP bounds, per-user limits, logs.
    llm_context_tokens: int = 128_000
    llm_max_output_tokens: int = 4096
    mcp_max_result_bytes: int = 1_048_576
    mcp_max_tools: int = 128
    limit_sockets_per_user: int = 32
    limit_requests_per_minute: int = 600
    limit_mcp_configs: int = 50
    limit_tokens_per_day: int = 0  # 0: no limit
    log_format: LogFormat = "text"
    # Operators' metrics (CONTRACT §11): /metrics when on, only to this bearer token when set.
    metrics: bool = False
    metrics_token: str | None = None
    # Several instances on one database (CONTRACT §10): turns counted across instances, this
    # instance's name (None: random per start), how long SIGTERM waits, the turns' lease.
    limit_turns_per_user: int = 3
    limit_turns_per_minute: int = 20
    instance_id: str | None = None
    shutdown_grace_s: float = 30.0
    turn_lease_s: float = 15.0

    @property
    def oauth_callback_url(self) -> str | None:
        """`{FACEPLATE_PUBLIC_URL}/oauth/callback`; in dev the public URL defaults to
        DEV_PUBLIC_URL, in cognito mode OAuth needs it set (None: no authorization can start)."""
        base = self.public_url or (DEV_PUBLIC_URL if self.auth == "dev" else None)
        return None if base is None else f"{base.rstrip('/')}/oauth/callback"

    @property
    def models(self) -> tuple[str, ...]:
        """The models users may pick, the default first: FACEPLATE_LLM_MODELS, else
        FACEPLATE_LLM_MODEL, else (the echo model) "echo"."""
        if self.llm_models:
            return self.llm_models
        return (self.llm_model,) if self.llm_model else ("echo",)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The keys of FACEPLATE_SECRET_KEY, the one that encrypts first; () when unset."""
        return _csv(self.secret_key or "")

    @property
    def issuer(self) -> str:
        """The token issuer of cognito mode."""
        if self.jwt_issuer:
            return self.jwt_issuer.rstrip("/")
        from faceplate.auth.cognito import cognito_issuer

        assert self.cognito_user_pool_id is not None
        return cognito_issuer(self.cognito_user_pool_id)

    @property
    def jwks(self) -> str:
        """Where the issuer publishes its signing keys."""
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


MODEL_NAME_CHARS: Final = 255


def _models(raw: str) -> tuple[str, ...]:
    """FACEPLATE_LLM_MODELS: comma-separated names, each at most 255 characters, none twice."""
    models = _csv(raw)
    for model in models:
        if len(model) > MODEL_NAME_CHARS:
            raise SettingsError(
                f"FACEPLATE_LLM_MODELS: a model name is at most {MODEL_NAME_CHARS} characters"
            )
    if len(set(models)) != len(models):
        raise SettingsError("FACEPLATE_LLM_MODELS names a model twice")
    return models


def _int(env: Mapping[str, str], name: str, default: int, *, low: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < low:
        raise SettingsError(f"{name} must be at least {low}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"{name} must be positive, got {raw}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _opt(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


# A bearer token as RFC 6750 allows it (b64token), so a scraper can send it in one header.
_TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_HOST: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?")
_LOOPBACK: Final = ("localhost", "127.0.0.1", "[::1]")


def cognito_domain(raw: str | None) -> str | None:
    """The Hosted UI origin from a domain ("auth.example.com") or an https origin; plain http
    only for a loopback host (a local stand-in)."""
    if raw is None:
        return None
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "https", raw
    host = rest.rstrip("/")
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if scheme not in ("https", "http") or not (_HOST.fullmatch(host) or name == "[::1]"):
        raise SettingsError(
            f"FACEPLATE_COGNITO_DOMAIN must be a domain such as auth.example.com, got {raw!r}"
        )
    if scheme == "http" and name not in _LOOPBACK:
        raise SettingsError("FACEPLATE_COGNITO_DOMAIN must use https")
    return f"{scheme}://{host.lower()}"


_INSTANCE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}")


def _instance_id(raw: str | None) -> str | None:
    if raw is not None and not _INSTANCE_ID.fullmatch(raw):
        raise SettingsError(
            f"FACEPLATE_INSTANCE_ID must be 1 to 48 letters, digits, '.', '_' or '-', got {raw!r}"
        )
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise SettingsError on the first invalid one."""
    env = os.environ if env is None else env
    if "FACEPLATE_MCP_STDIO_COMMANDS" in env:
        raise SettingsError(
            "FACEPLATE_MCP_STDIO_COMMANDS is gone: list the stdio servers users may run in a "
            "JSON file named by FACEPLATE_MCP_STDIO_SERVERS (see the README)"
        )
    auth = _choice(env, "FACEPLATE_AUTH", "dev", ("dev", "cognito"))
    sandbox = _choice(env, "FACEPLATE_MCP_STDIO_SANDBOX", "auto", ("auto", "bwrap", "none"))
    servers_file = _opt(env, "FACEPLATE_MCP_STDIO_SERVERS")
    llm = _choice(env, "FACEPLATE_LLM", "echo", ("openai", "anthropic", "echo"))
    settings = Settings(
        database_url=_opt(env, "FACEPLATE_DATABASE_URL"),
        data_dir=Path(_opt(env, "FACEPLATE_DATA_DIR") or ".faceplate"),
        auth="cognito" if auth == "cognito" else "dev",
        cognito_user_pool_id=_opt(env, "FACEPLATE_COGNITO_USER_POOL_ID"),
        cognito_client_ids=_csv(env.get("FACEPLATE_COGNITO_CLIENT_IDS", "")),
        jwt_issuer=_opt(env, "FACEPLATE_JWT_ISSUER"),
        jwks_url=_opt(env, "FACEPLATE_JWKS_URL"),
        llm="openai" if llm == "openai" else "anthropic" if llm == "anthropic" else "echo",
        llm_base_url=_opt(env, "FACEPLATE_LLM_BASE_URL"),
        llm_api_key=_opt(env, "FACEPLATE_LLM_API_KEY"),
        llm_model=_opt(env, "FACEPLATE_LLM_MODEL"),
        llm_models=_models(env.get("FACEPLATE_LLM_MODELS", "")),
        system_prompt=env.get("FACEPLATE_SYSTEM_PROMPT") or DEFAULT_SYSTEM_PROMPT,
        max_tool_rounds=_int(env, "FACEPLATE_MAX_TOOL_ROUNDS", 8, low=0),
        tool_timeout_s=_float(env, "FACEPLATE_TOOL_TIMEOUT_S", 60.0),
        tool_approval_default=cast(
            ToolApproval,
            _choice(env, "FACEPLATE_TOOL_APPROVAL_DEFAULT", "never", ("never", "writes", "always")),
        ),
        approval_timeout_s=_float(env, "FACEPLATE_APPROVAL_TIMEOUT_S", 600.0),
        mcp_stdio_servers=None if servers_file is None else Path(servers_file),
        mcp_stdio_sandbox=cast(StdioSandbox, sandbox),
        mcp_stdio_max_per_user=_int(env, "FACEPLATE_MCP_STDIO_MAX_PER_USER", 8, low=1),
        mcp_stdio_max_total=_int(env, "FACEPLATE_MCP_STDIO_MAX_TOTAL", 64, low=1),
        mcp_allow_private=_bool(env, "FACEPLATE_MCP_ALLOW_PRIVATE", auth == "dev"),
        db_pool_min=_int(env, "FACEPLATE_DB_POOL_MIN", 5, low=0),
        db_pool_max=_int(env, "FACEPLATE_DB_POOL_MAX", 20, low=1),
        db_pool_timeout_s=_float(env, "FACEPLATE_DB_POOL_TIMEOUT_S", 30.0),
        secret_key=_opt(env, "FACEPLATE_SECRET_KEY"),
        web=_bool(env, "FACEPLATE_WEB", True),
        cognito_domain=cognito_domain(_opt(env, "FACEPLATE_COGNITO_DOMAIN")),
        public_url=_opt(env, "FACEPLATE_PUBLIC_URL"),
        oauth_return_url=_opt(env, "FACEPLATE_OAUTH_RETURN_URL"),
        oauth_client_metadata_url=_opt(env, "FACEPLATE_OAUTH_CLIENT_METADATA_URL"),
        llm_context_tokens=_int(env, "FACEPLATE_LLM_CONTEXT_TOKENS", 128_000, low=1),
        llm_max_output_tokens=_int(env, "FACEPLATE_LLM_MAX_OUTPUT_TOKENS", 4096, low=1),
        mcp_max_result_bytes=_int(env, "FACEPLATE_MCP_MAX_RESULT_BYTES", 1_048_576, low=1024),
        mcp_max_tools=_int(env, "FACEPLATE_MCP_MAX_TOOLS", 128, low=1),
        limit_sockets_per_user=_int(env, "FACEPLATE_LIMIT_SOCKETS_PER_USER", 32, low=1),
        limit_requests_per_minute=_int(env, "FACEPLATE_LIMIT_REQUESTS_PER_MINUTE", 600, low=1),
        limit_mcp_configs=_int(env, "FACEPLATE_LIMIT_MCP_CONFIGS", 50, low=1),
        limit_tokens_per_day=_int(env, "FACEPLATE_LIMIT_TOKENS_PER_DAY", 0, low=0),
        limit_turns_per_user=_int(env, "FACEPLATE_LIMIT_TURNS_PER_USER", 3, low=1),
        limit_turns_per_minute=_int(env, "FACEPLATE_LIMIT_TURNS_PER_MINUTE", 20, low=1),
        instance_id=_instance_id(_opt(env, "FACEPLATE_INSTANCE_ID")),
        shutdown_grace_s=_float(env, "FACEPLATE_SHUTDOWN_GRACE_S", 30.0),
        turn_lease_s=_float(env, "FACEPLATE_TURN_LEASE_S", 15.0),
        log_format=(
            "json"
            if _choice(env, "FACEPLATE_LOG_FORMAT", "text", ("text", "json")) == "json"
            else "text"
        ),
        metrics=_bool(env, "FACEPLATE_METRICS", False),
        metrics_token=_opt(env, "FACEPLATE_METRICS_TOKEN"),
    )
    check(settings)
    return settings


def check(settings: Settings) -> None:
    """Refuse combinations that cannot work, with a one-line reason."""
    if settings.db_pool_min > settings.db_pool_max:
        raise SettingsError("FACEPLATE_DB_POOL_MIN must not exceed FACEPLATE_DB_POOL_MAX")
    if settings.database_url is not None and not settings.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise SettingsError("FACEPLATE_DATABASE_URL must start with postgresql://")
    if settings.auth == "cognito":
        if not settings.cognito_user_pool_id and not settings.jwt_issuer:
            raise SettingsError("FACEPLATE_AUTH=cognito needs FACEPLATE_COGNITO_USER_POOL_ID")
        if settings.cognito_user_pool_id and "_" not in settings.cognito_user_pool_id:
            raise SettingsError(
                "FACEPLATE_COGNITO_USER_POOL_ID must look like <region>_<id>, e.g. eu-west-1_AbCdEf"
            )
        if not settings.cognito_client_ids:
            raise SettingsError("FACEPLATE_AUTH=cognito needs FACEPLATE_COGNITO_CLIENT_IDS")
        if not settings.secret_key:
            raise SettingsError("FACEPLATE_AUTH=cognito needs FACEPLATE_SECRET_KEY")
        if not settings.database_url:
            raise SettingsError("FACEPLATE_AUTH=cognito needs FACEPLATE_DATABASE_URL")
    if settings.llm in ("openai", "anthropic") and not (settings.llm_model or settings.llm_models):
        raise SettingsError(f"FACEPLATE_LLM={settings.llm} needs FACEPLATE_LLM_MODEL")
    _check_oauth(settings)
    if settings.metrics_token is not None and not _TOKEN.fullmatch(settings.metrics_token):
        raise SettingsError(
            "FACEPLATE_METRICS_TOKEN must be a bearer token: letters, digits and -._~+/ "
            "(then = padding), no spaces"
        )
    if settings.llm_max_output_tokens >= settings.llm_context_tokens:
        raise SettingsError(
            "FACEPLATE_LLM_MAX_OUTPUT_TOKENS must be below FACEPLATE_LLM_CONTEXT_TOKENS"
        )
    if settings.secret_key is not None:
        from faceplate.secrets import check_key

        if not settings.secret_keys:
            raise SettingsError("FACEPLATE_SECRET_KEY names no key")
        for position, key in enumerate(settings.secret_keys, start=1):
            try:
                check_key(key)
            except ValueError:
                raise SettingsError(
                    f"FACEPLATE_SECRET_KEY: key {position} must be 32 random bytes in URL-safe "
                    "base64 (a Fernet key)"
                ) from None


def _check_oauth(settings: Settings) -> None:
    """The OAuth URLs: absolute http(s), no query or fragment where one is appended to them."""
    public = settings.public_url
    if public is not None:
        parts = _url(public, "FACEPLATE_PUBLIC_URL")
        if parts.query or parts.fragment:
            raise SettingsError("FACEPLATE_PUBLIC_URL must have no query or fragment")
        if settings.auth == "cognito" and parts.scheme != "https":
            raise SettingsError("FACEPLATE_PUBLIC_URL must be https in cognito mode")
    if settings.oauth_return_url is not None:
        parts = _url(settings.oauth_return_url, "FACEPLATE_OAUTH_RETURN_URL")
        if parts.fragment:
            raise SettingsError("FACEPLATE_OAUTH_RETURN_URL must have no fragment")
    metadata = settings.oauth_client_metadata_url
    if metadata is not None:
        parts = _url(metadata, "FACEPLATE_OAUTH_CLIENT_METADATA_URL")
        if parts.scheme != "https" or parts.path in ("", "/"):
            raise SettingsError(
                "FACEPLATE_OAUTH_CLIENT_METADATA_URL must be an https URL with a path"
            )


def _url(value: str, name: str) -> SplitResult:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {value!r}")
    return parts
