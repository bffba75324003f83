"""What a stdio server can see and do: real children, under bubblewrap and without a sandbox."""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.mcp_client.stdio.uids import UID_BASE
from tests.mcp_client.stdio_support import (
    PROBE,
    config,
    entry,
    processes_with,
    requires_bwrap,
    runtime,
)
from tests.mcp_client.support import CONFIG_ID, call, text

SYSTEM = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "tmp"}
SYSTEM |= {"home", "run"}
SERVICE_SECRET = "fake-service-secret-7d1f"
DATA_SECRET = "data-dir-secret-93ab"
CWD_SECRET = "cwd-secret-4c20"
LIMITS = {"address_space_mib": 1024, "processes": 32, "open_files": 200, "cpu_s": 120}
EXPECTED_ENV = {
    "PATH",
    "HOME",
    "TMPDIR",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "MARKER",
}


class Service:
    """The service's side of a test: its secrets, its working and data directories."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cwd = tmp_path / "service"
        self.data = tmp_path / "data"
        for directory in (self.cwd, self.data):
            directory.mkdir()
        self.cwd_secret = self.cwd / "secret.txt"
        self.cwd_secret.write_text(CWD_SECRET)
        self.data_secret = self.data / "secret.key"
        self.data_secret.write_text(DATA_SECRET)
        self.bundle = tmp_path / "trust" / "bundle.pem"
        self.bundle.parent.mkdir()
        self.bundle.write_text("-----BEGIN CERTIFICATE-----\nfake\n")
        monkeypatch.chdir(self.cwd)
        monkeypatch.setenv("FACEPLATE_SECRET_KEY", SERVICE_SECRET)
        monkeypatch.setenv("FACEPLATE_DATABASE_URL", f"postgresql://u:{SERVICE_SECRET}@db/x")
        monkeypatch.setenv("SSL_CERT_FILE", str(self.bundle))
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
        monkeypatch.setenv("no_proxy", "localhost,.internal")
        self.tmp_path = tmp_path


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Service:
    return Service(tmp_path, monkeypatch)


def probe_runtime(service: Service, sandbox: str, **extra: Any) -> StdioRuntime:
    servers = [entry(PROBE, env=["MARKER"], limits=LIMITS, **extra)]
    return runtime(service.tmp_path, servers, sandbox=sandbox)


@pytest.fixture
async def bwrap_manager(service: Service) -> AsyncIterator[McpSessionManager]:
    async with McpSessionManager(
        allow_private=True, stdio=probe_runtime(service, "bwrap")
    ) as manager:
        yield manager


@pytest.fixture
def marker() -> str:
    return uuid.uuid4().hex


async def look(
    manager: McpSessionManager, service: Service, marker: str, *extra: str
) -> dict[str, Any]:
    paths = [str(service.cwd_secret), str(service.data_secret), str(service.bundle), *extra]
    result = await call(manager, config(PROBE, {"MARKER": marker}), "look", {"paths": paths})
    assert result.is_error is False, text(result)
    seen: dict[str, Any] = json.loads(text(result))
    return seen


@requires_bwrap
async def test_a_sandboxed_server_sees_none_of_the_services_secrets(
    bwrap_manager: McpSessionManager, service: Service, marker: str
) -> None:
    seen = await look(bwrap_manager, service, marker, "/proc/1/environ")

    everything = json.dumps(seen)
    for secret in (SERVICE_SECRET, DATA_SECRET, CWD_SECRET):
        assert secret not in everything
    assert not seen["parent_environ"].startswith("read:")
    assert not seen["init_environ"].startswith("read:")
    files = seen["files"]
    assert files[str(service.cwd_secret)] == "error: No such file or directory"
    assert files[str(service.data_secret)] == "error: No such file or directory"


@requires_bwrap
async def test_a_sandboxed_server_sees_only_its_own_processes_and_an_empty_home(
    bwrap_manager: McpSessionManager, service: Service, marker: str
) -> None:
    seen = await look(bwrap_manager, service, marker)

    pids = [int(name) for name in seen["proc"] if name.isdigit()]
    assert pids == [1, 2]  # bwrap's init and the server
    assert seen["pid"] == 2
    assert seen["cwd"] == "/home/mcp"
    assert seen["cwd_entries"] == []
    assert seen["hostname"] == "mcp"
    # The system, its /proc, /dev, /tmp and home, and the tops of the paths the entry shows.
    shown = {Path(p).parts[1] for p in (PROBE, sys.executable, os.path.realpath(sys.executable))}
    assert set(seen["root"]) <= SYSTEM | shown


@requires_bwrap
async def test_a_sandboxed_server_gets_a_minimal_env_with_the_trust_store_and_proxies(
    bwrap_manager: McpSessionManager, service: Service, marker: str
) -> None:
    seen = await look(bwrap_manager, service, marker)

    env = seen["env"]
    assert set(env) <= EXPECTED_ENV
    assert env["MARKER"] == marker
    assert env["HOME"] == "/home/mcp"
    assert env["SSL_CERT_FILE"] == str(service.bundle)
    assert env["HTTPS_PROXY"] == "http://proxy.example:3128"
    assert env["no_proxy"] == "localhost,.internal"
    assert seen["files"][str(service.bundle)] == "read: " + service.bundle.read_text()


@requires_bwrap
async def test_a_sandboxed_server_runs_with_its_limits_no_capabilities_and_not_as_root(
    bwrap_manager: McpSessionManager, service: Service, marker: str
) -> None:
    seen = await look(bwrap_manager, service, marker)

    limits = seen["limits"]
    assert limits["address_space"] == [1024 << 20, 1024 << 20]
    assert limits["processes"] == [32, 32]
    assert limits["open_files"] == [200, 200]
    assert limits["cpu"] == [120, 125]
    assert limits["core"] == [0, 0]
    if os.geteuid() == 0:
        assert seen["uid"] == seen["euid"] >= UID_BASE
    else:
        assert seen["uid"] == os.getuid()
    assert seen["status"] == {
        "CapPrm": "0000000000000000",
        "CapEff": "0000000000000000",
        "NoNewPrivs": "1",
    }


@requires_bwrap
async def test_the_process_and_memory_limits_hold_in_the_sandbox(
    bwrap_manager: McpSessionManager, marker: str
) -> None:
    probe = config(PROBE, {"MARKER": marker})

    started = int(text(await call(bwrap_manager, probe, "spawn", {"n": 100})))
    small = text(await call(bwrap_manager, probe, "allocate", {"mib": 64}))
    large = text(await call(bwrap_manager, probe, "allocate", {"mib": 2048}))

    assert 0 < started < 32
    assert small == "allocated 64 MiB"
    assert large == "MemoryError"


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@requires_bwrap
@pytest.mark.parametrize("network", [True, False])
async def test_the_network_is_the_hosts_unless_the_entry_turns_it_off(
    service: Service, marker: str, listener: int, network: bool
) -> None:
    stdio = probe_runtime(service, "bwrap", network=network)
    async with McpSessionManager(allow_private=True, stdio=stdio) as manager:
        probe = config(PROBE, {"MARKER": marker})
        where = {"host": "127.0.0.1", "port": listener}
        outcome = text(await call(manager, probe, "connect", where))

    assert (outcome == "connected") is network


@requires_bwrap
async def test_closing_ends_every_process_and_removes_the_directory(
    bwrap_manager: McpSessionManager, service: Service, marker: str
) -> None:
    probe = config(PROBE, {"MARKER": marker})
    assert int(text(await call(bwrap_manager, probe, "spawn", {"n": 0}))) == 0
    assert processes_with(f"MARKER={marker}")
    assert os.listdir(service.tmp_path / "work") != []

    await bwrap_manager.close_config(CONFIG_ID)

    assert processes_with(f"MARKER={marker}") == []
    assert os.listdir(service.tmp_path / "work") == []


async def test_without_a_sandbox_the_env_and_home_are_still_fresh_and_limited(
    service: Service, marker: str
) -> None:
    async with McpSessionManager(allow_private=True, stdio=probe_runtime(service, "none")) as m:
        seen = await look(m, service, marker)
        home = seen["cwd"]
        assert os.path.isdir(home)

    assert set(seen["env"]) <= EXPECTED_ENV
    assert SERVICE_SECRET not in json.dumps(seen["env"])
    assert seen["cwd_entries"] == []
    assert seen["env"]["HOME"] == home
    assert seen["env"]["SSL_CERT_FILE"] == str(service.bundle)
    assert seen["limits"]["address_space"] == [1024 << 20, 1024 << 20]
    assert seen["limits"]["open_files"] == [200, 200]
    assert not os.path.exists(home)
    assert processes_with(f"MARKER={marker}") == []


async def test_without_a_sandbox_the_services_files_and_processes_are_not_hidden(
    service: Service, marker: str
) -> None:
    # What the README says is not isolated in `none` mode, pinned.
    async with McpSessionManager(allow_private=True, stdio=probe_runtime(service, "none")) as m:
        seen = await look(m, service, marker)

    assert seen["files"][str(service.cwd_secret)] == "read: " + CWD_SECRET
    assert len([name for name in seen["proc"] if name.isdigit()]) > 2


SANDBOXES = ["none", pytest.param("bwrap", marks=requires_bwrap)]
# Importing the SDK alone costs a Python server about 1 s of CPU: leave it room to answer.
TIGHT = {"address_space_mib": 1024, "open_files": 64, "file_size_mib": 2, "cpu_s": 4}


@pytest.mark.parametrize("sandbox", SANDBOXES)
async def test_the_file_memory_and_cpu_limits_take_effect(
    service: Service, marker: str, sandbox: str
) -> None:
    stdio = runtime(service.tmp_path, [entry(PROBE, env=["MARKER"], limits=TIGHT)], sandbox=sandbox)
    probe = config(PROBE, {"MARKER": marker})
    async with McpSessionManager(allow_private=True, stdio=stdio) as manager:
        opened = int(text(await call(manager, probe, "open_files", {"n": 100})))
        small = text(await call(manager, probe, "write_file", {"mib": 1}))
        large = text(await call(manager, probe, "write_file", {"mib": 3}))
        memory = text(await call(manager, probe, "allocate", {"mib": 2048}))
        burnt = await call(manager, probe, "burn", {"seconds": 30}, timeout_s=40)

    assert 40 < opened < 64  # the server holds some itself
    assert (small, large) == ("wrote 1 MiB", "error: File too large")
    assert memory == "MemoryError"
    assert burnt.is_error is True
    assert text(burnt).startswith("the stdio MCP server was killed by signal SIGXCPU")
