from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from faceplate.auth.dev import DevVerifier, load_or_create_secret
from faceplate.migrate import migration_ids


def _faceplate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faceplate.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_token_prints_a_dev_token_for_the_email(tmp_path: Path) -> None:
    done = _faceplate("token", "dev@example.com", env={"FACEPLATE_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    identity = await DevVerifier(load_or_create_secret(tmp_path)).verify(done.stdout.strip())
    assert identity.email == "dev@example.com"


def test_invalid_setting_is_refused_in_one_line(tmp_path: Path) -> None:
    done = _faceplate("serve", env={"FACEPLATE_LLM": "openai", "FACEPLATE_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "FACEPLATE_LLM_MODEL" in done.stderr


def test_token_is_refused_in_cognito_mode(tmp_path: Path) -> None:
    env = {
        "FACEPLATE_AUTH": "cognito",
        "FACEPLATE_COGNITO_USER_POOL_ID": "eu-west-1_x",
        "FACEPLATE_COGNITO_CLIENT_IDS": "a",
        "FACEPLATE_SECRET_KEY": "6GmEfzUVhfsnD5BvXGlrAfQqFq3XxWGV7lnPfrm9k1A=",
        "FACEPLATE_DATABASE_URL": "postgresql://nowhere/x",
        "FACEPLATE_DATA_DIR": str(tmp_path),
    }
    assert _faceplate("token", "a@b.c", env=env).returncode == 2


def test_migrate_apply_list_rollback(empty_database_url: str) -> None:
    env = {"FACEPLATE_DATABASE_URL": empty_database_url}
    applied = _faceplate("migrate", "apply", env=env)
    assert applied.returncode == 0, applied.stderr
    listed = _faceplate("migrate", "list", env=env)
    assert all(line.startswith("A ") for line in listed.stdout.splitlines())
    undone = _faceplate("migrate", "rollback", "--all", env=env)
    assert undone.returncode == 0, undone.stderr
    assert all(line.startswith("U ") for line in _faceplate("migrate", env=env).stdout.splitlines())
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('faceplate.users')").fetchone() == (None,)


def test_yoyo_cli_applies_the_migrations(empty_database_url: str) -> None:
    url = "postgresql+psycopg://" + empty_database_url.split("://", 1)[1]
    yoyo = Path(sys.executable).parent / "yoyo"
    done = subprocess.run(
        [str(yoyo), "apply", "--batch", "--database", url, "migrations"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('faceplate.messages')").fetchone() == (
            "faceplate.messages",
        )


def _serve_until_started(env: dict[str, str]) -> list[str]:
    """`faceplate serve` on a free port: its log lines up to uvicorn's start, then it stops."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "faceplate.cli", "serve", "--port", port, "--no-access-log"],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line.strip())
            if "Application startup complete" in line:
                break
    finally:
        # Ctrl-C, not SIGTERM: uvicorn re-raises the signal it stopped on, and only an interrupt
        # lets the process exit through atexit, where the embedded server is stopped.
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()
    assert any("Application startup complete" in line for line in lines), lines
    return lines


def test_serve_says_which_migrations_it_applied(empty_database_url: str, tmp_path: Path) -> None:
    env = {"FACEPLATE_DATABASE_URL": empty_database_url, "FACEPLATE_DATA_DIR": str(tmp_path)}
    head = max(migration_ids())
    first = _serve_until_started(env)
    assert any("migrations applied: " in line and head in line for line in first), first
    again = _serve_until_started(env)
    assert any(f"migrations: none pending, the schema is at {head}" in line for line in again)


def test_serve_says_where_the_embedded_database_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACEPLATE_DATABASE_URL", raising=False)
    lines = _serve_until_started({"FACEPLATE_DATA_DIR": str(tmp_path)})
    assert any(f"its data lives in {tmp_path.resolve() / 'pgdata'}" in line for line in lines)
    assert any("migrations applied:" in line for line in lines), lines


def _refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert line.count("\n") == 0, line
    assert line.startswith("faceplate: ")
    return line


def test_serve_refuses_the_old_stdio_commands_setting_naming_the_new_one(tmp_path: Path) -> None:
    env = {"FACEPLATE_MCP_STDIO_COMMANDS": "npx", "FACEPLATE_DATA_DIR": str(tmp_path)}
    assert "FACEPLATE_MCP_STDIO_SERVERS" in _refused(_faceplate("serve", env=env))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[{", "not valid JSON"),
        ('{"command": "npx"}', "Expected `array`"),
        ('[{"command": "npx", "argv": []}]', "unknown field `argv`"),
        ('[{"command": "no-such-command-here"}]', "not found"),
        ('[{"command": "python3", "env": ["TOKEN", "LD_PRELOAD"]}]', "LD_PRELOAD"),
        ('[{"command": "python3", "env": ["NODE_OPTIONS"]}]', "NODE_OPTIONS"),
        ('[{"command": "python3"}, {"command": "python3"}]', "same command and args"),
        ('[{"command": "python3", "paths": ["relative/dir"]}]', "absolute"),
        ('[{"command": "python3", "limits": {"cpu_s": -1}}]', "limits.cpu_s"),
    ],
)
def test_serve_refuses_a_bad_stdio_servers_file_in_one_line(
    tmp_path: Path, content: str, reason: str
) -> None:
    servers = tmp_path / "servers.json"
    servers.write_text(content)
    env = {"FACEPLATE_MCP_STDIO_SERVERS": str(servers), "FACEPLATE_DATA_DIR": str(tmp_path)}
    line = _refused(_faceplate("serve", env=env))
    assert "FACEPLATE_MCP_STDIO_SERVERS" in line
    assert reason in line


def test_serve_refuses_a_servers_file_showing_the_data_dir(tmp_path: Path) -> None:
    servers = tmp_path / "servers.json"
    servers.write_text(f'[{{"command": "python3", "paths": ["{tmp_path}"]}}]')
    env = {"FACEPLATE_MCP_STDIO_SERVERS": str(servers), "FACEPLATE_DATA_DIR": str(tmp_path / "d")}
    assert "no stdio server may see" in _refused(_faceplate("serve", env=env))


def test_serve_refuses_a_missing_servers_file(tmp_path: Path) -> None:
    env = {
        "FACEPLATE_MCP_STDIO_SERVERS": str(tmp_path / "nope.json"),
        "FACEPLATE_DATA_DIR": str(tmp_path),
    }
    assert "cannot read" in _refused(_faceplate("serve", env=env))


def test_serve_refuses_the_bwrap_sandbox_when_bwrap_is_not_installed(tmp_path: Path) -> None:
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    env = {
        "FACEPLATE_MCP_STDIO_SANDBOX": "bwrap",
        "FACEPLATE_DATA_DIR": str(tmp_path),
        "PATH": str(no_bwrap),
    }
    line = _refused(_faceplate("serve", env=env))
    assert "bwrap is not installed" in line
    assert "FACEPLATE_MCP_STDIO_SANDBOX" in line
