"""The operator's servers file: what it may say, and which stdio configs it lets through."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from faceplate.mcp_client.errors import CommandNotAllowed
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.envnames import refusal
from faceplate.mcp_client.stdio.runtime import StdioSetupError, stdio_runtime
from faceplate.mcp_client.stdio.servers import StdioLimits, StdioServersError, load_servers
from faceplate.structs import StdioConfig
from tests.mcp_client.stdio_support import TOOLBOX_SERVER, config, entry, runtime, write_servers
from tests.mcp_client.support import call, text

LOADER_NAMES = [
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "ld_audit",
    "DYLD_INSERT_LIBRARIES",
    "GLIBC_TUNABLES",
    "NODE_OPTIONS",
    "NODE_PATH",
    "npm_config_registry",
    "NPM_CONFIG_SCRIPT_SHELL",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONWARNINGS",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
    "UV_INDEX_URL",
    "PIP_INDEX_URL",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "GIT_SSH_COMMAND",
    "GIT_CONFIG_COUNT",
    "OPENSSL_CONF",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_ls%%",
    "PATH",
    "Path",
    "HOME",
    "GCONV_PATH",
    "SSL_CERT_FILE",
    "HTTPS_PROXY",
    "XDG_CONFIG_HOME",
    "GOFLAGS",
    "CORECLR_PROFILER_PATH",
]
ORDINARY_NAMES = [
    "GITHUB_PERSONAL_ACCESS_TOKEN",
    "GITLAB_TOKEN",
    "API_KEY",
    "SLACK_BOT_TOKEN",
    "BRAVE_API_KEY",
    "GOOGLE_API_KEY",
    "DATABASE_NAME",
]


@pytest.mark.parametrize("name", LOADER_NAMES)
def test_names_that_change_how_programs_load_are_refused(name: str) -> None:
    assert refusal(name) is not None


@pytest.mark.parametrize("name", ORDINARY_NAMES)
def test_ordinary_names_are_not_refused(name: str) -> None:
    assert refusal(name) is None


def _load(tmp_path: Path, entries: list[dict[str, Any]]) -> Any:
    return load_servers(write_servers(tmp_path / "servers.json", entries), cwd=tmp_path / "cwd")


def test_an_entry_takes_the_optional_fields_with_their_defaults(tmp_path: Path) -> None:
    (tmp_path / "cwd").mkdir()
    (tmp_path / "tools").mkdir()
    servers = _load(
        tmp_path,
        [
            {"command": "python3"},
            {
                "command": sys.executable,
                "args": ["-m", "srv"],
                "env": ["TOKEN"],
                "set_env": {"UV_NATIVE_TLS": "1"},
                "paths": [str(tmp_path / "tools")],
                "network": False,
                "limits": {"address_space_mib": 0, "cpu_s": 30},
            },
        ],
    )
    plain, full = servers.entries
    assert (plain.args, plain.env, plain.paths, plain.network) == ((), (), (), True)
    assert plain.limits == StdioLimits()
    assert full.limits == StdioLimits(address_space_mib=0, cpu_s=30)
    assert full.set_env == {"UV_NATIVE_TLS": "1"}
    assert full.network is False


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"env": ["TOKEN", "TOKEN2", "LD_PRELOAD"]}, "env: LD_PRELOAD changes how programs load"),
        ({"env": ["not-a-name"]}, "not a valid environment variable name"),
        ({"set_env": {"TOKEN": "x"}, "env": ["TOKEN"]}, "set_env: TOKEN is also in env"),
        ({"paths": ["/"]}, "holds"),
        ({"limits": {"processes": 1}}, "limits.processes"),
        ({"args": ["a\u0000b"]}, "NUL"),
        ({"command": "./server"}, "bare name"),
        ({"command": ""}, "non-empty"),
    ],
)
def test_a_bad_entry_is_refused_naming_it_and_why(
    tmp_path: Path, bad: dict[str, Any], reason: str
) -> None:
    with pytest.raises(StdioServersError) as raised:
        _load(tmp_path, [{"command": "python3"}, {"command": "python3", "args": ["x"], **bad}])

    message = str(raised.value)
    assert "entry 2" in message
    assert reason in message
    assert "\n" not in message


def test_a_path_inside_the_data_dir_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)
    path = write_servers(
        tmp_path / "s.json", [{"command": "python3", "paths": [str(data / "keys")]}]
    )

    with pytest.raises(StdioServersError, match="data directory"):
        load_servers(path, data_dir=data)


def test_the_args_must_be_the_entrys_exactly(tmp_path: Path) -> None:
    servers = _load(tmp_path, [{"command": "python3", "args": ["-m", "srv"], "env": ["TOKEN"]}])

    servers.match(StdioConfig(command="python3", args=["-m", "srv"], env={"TOKEN": "t"}))
    for args in (["-m"], ["-m", "srv", "-v"], ["-m", "SRV"], ["srv", "-m"]):
        with pytest.raises(CommandNotAllowed, match=r"^config\.args: "):
            servers.match(StdioConfig(command="python3", args=args))
    with pytest.raises(CommandNotAllowed, match=r"^config\.command: "):
        servers.match(StdioConfig(command="python3 ", args=["-m", "srv"]))


async def test_set_env_reaches_the_server_over_the_minimal_env(tmp_path: Path) -> None:
    servers = [entry(TOOLBOX_SERVER, env=["API_TOKEN"], set_env={"UV_NATIVE_TLS": "1"})]
    async with McpSessionManager(allow_private=True, stdio=runtime(tmp_path, servers)) as m:
        result = await call(m, config(TOOLBOX_SERVER, {"API_TOKEN": "t"}), "environment")

    env = json.loads(text(result))
    assert env["UV_NATIVE_TLS"] == "1"
    assert env["API_TOKEN"] == "t"


def _fake_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `bwrap` on PATH that fails the way one without namespaces does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def _servers(tmp_path: Path) -> Path:
    return write_servers(tmp_path / "servers.json", [{"command": sys.executable}])


def test_a_bwrap_that_fails_stops_the_bwrap_mode_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_bwrap(tmp_path, monkeypatch)

    with pytest.raises(StdioSetupError) as raised:
        stdio_runtime(_servers(tmp_path), "bwrap", data_dir=tmp_path / "data", cognito=False)

    assert str(raised.value) == (
        "FACEPLATE_MCP_STDIO_SANDBOX=bwrap, but bwrap fails: "
        "exit status 1: bwrap: No permissions to create new namespace"
    )


def test_a_bwrap_that_fails_makes_auto_run_without_a_sandbox_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_bwrap(tmp_path, monkeypatch)

    stdio = stdio_runtime(_servers(tmp_path), "auto", data_dir=tmp_path / "data", cognito=False)

    assert stdio is not None
    assert stdio.sandbox.kind == "none"
    assert "stdio servers run without a sandbox" in caplog.text


@pytest.mark.parametrize(("cognito", "warned"), [(True, True), (False, False)])
def test_auto_without_bwrap_warns_in_cognito_mode(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    cognito: bool,
    warned: bool,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    stdio = stdio_runtime(_servers(tmp_path), "auto", data_dir=tmp_path / "data", cognito=cognito)

    assert stdio is not None
    assert stdio.sandbox.kind == "none"
    assert ("bwrap is not installed" in caplog.text) is warned


def test_no_servers_file_means_no_stdio(tmp_path: Path) -> None:
    assert stdio_runtime(None, "none", data_dir=tmp_path, cognito=True) is None
