"""The operator's list of stdio servers (FACEPLATE_MCP_STDIO_SERVERS) and the check of a user's
stdio config against it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import msgspec

from faceplate.mcp_client.errors import CommandNotAllowed
from faceplate.mcp_client.stdio.envnames import refusal, valid_name
from faceplate.structs import StdioConfig

_MIB: Final = 1024 * 1024


class StdioLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Resource limits of one stdio server process; 0 means no limit."""

    address_space_mib: int = 4096
    processes: int = 256  # tasks of the server's uid in its sandbox, threads included
    open_files: int = 1024
    cpu_s: int = 600  # CPU seconds over the process's whole life
    file_size_mib: int = 1024  # the largest file it may write

    @property
    def address_space(self) -> int:
        return self.address_space_mib * _MIB

    @property
    def file_size(self) -> int:
        return self.file_size_mib * _MIB


class StdioServer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One entry of the file: what a user's stdio config must equal, and how it runs."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # the env keys a user's config may set
    set_env: dict[str, str] = {}  # set by the operator, over the minimal env
    paths: tuple[str, ...] = ()  # more host paths the sandbox shows, read-only
    network: bool = True
    limits: StdioLimits = StdioLimits()

    def describe(self) -> str:
        return " ".join([self.command, *self.args])[:80]


class StdioServersError(Exception):
    """The servers file is unreadable or invalid; the message is one line."""


class StdioServers:
    """The servers users may run, read once at start."""

    def __init__(self, entries: Sequence[StdioServer]) -> None:
        self.entries = tuple(entries)

    def match(self, config: StdioConfig) -> StdioServer:
        """The entry `config` runs as; CommandNotAllowed naming the field that differs."""
        same_command = [e for e in self.entries if e.command == config.command]
        if not same_command:
            raise CommandNotAllowed(
                f"config.command: {config.command!r} is not a stdio server offered here"
            )
        entry = next((e for e in same_command if list(e.args) == list(config.args)), None)
        if entry is None:
            raise CommandNotAllowed(
                f"config.args: the stdio server {config.command!r} is offered only with the "
                "operator's exact arguments"
            )
        for name, value in config.env.items():
            reason = refusal(name)
            if reason is not None:
                raise CommandNotAllowed(f"config.env.{name}: {reason}")
            if name not in entry.env:
                raise CommandNotAllowed(f"config.env.{name}: this stdio server does not take it")
            if "\0" in value:
                raise CommandNotAllowed(f"config.env.{name}: must not contain NUL")
        return entry


def stdio_refused() -> CommandNotAllowed:
    """The refusal of every stdio config while no servers file is set."""
    return CommandNotAllowed("config.command: this server offers no stdio MCP servers")


def load_servers(
    path: Path, *, cwd: Path | None = None, data_dir: Path | None = None
) -> StdioServers:
    """Read and check the file; StdioServersError with a one-line reason if it is not right.

    No sandbox may show the service's working directory (`cwd`) or data directory: a path an
    entry lists must not hold either, nor lie in the data directory.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StdioServersError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        entries = msgspec.json.decode(raw, type=list[StdioServer])
    except msgspec.ValidationError as exc:
        raise StdioServersError(f"{path}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise StdioServersError(f"{path} is not valid JSON: {exc}") from None
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for number, entry in enumerate(entries, 1):
        where = f"{path}: entry {number} ({entry.describe()})"
        problem = _problem(entry, cwd, data_dir)
        if problem is not None:
            raise StdioServersError(f"{where}: {problem}")
        if (entry.command, entry.args) in seen:
            raise StdioServersError(f"{where}: the same command and args as an earlier entry")
        seen.add((entry.command, entry.args))
    return StdioServers(entries)


def _problem(entry: StdioServer, cwd: Path | None, data_dir: Path | None) -> str | None:
    if not entry.command or "\0" in entry.command:
        return "command must be a non-empty string"
    if "/" in entry.command and not os.path.isabs(entry.command):
        return "command must be a bare name (looked up on PATH) or an absolute path"
    if shutil.which(entry.command) is None:
        return f"command {entry.command} is not found (PATH of the service) or not executable"
    if any("\0" in arg for arg in entry.args):
        return "args must not contain NUL"
    for name in entry.env:
        reason = refusal(name)
        if reason is not None:
            return f"env: {name} {reason}"
    for name, value in entry.set_env.items():
        if not valid_name(name) or "\0" in value:
            return f"set_env: {name!r} is not a valid name and value"
        if name in entry.env:
            return f"set_env: {name} is also in env; it is either the operator's or the user's"
    for raw in entry.paths:
        problem = _path_problem(raw, cwd, data_dir)
        if problem is not None:
            return f"paths: {raw}: {problem}"
    limits = msgspec.structs.asdict(entry.limits)
    for name, value in limits.items():
        if value < 0:
            return f"limits.{name} must be 0 (none) or more"
    if entry.limits.processes == 1:
        return "limits.processes must be 0 (none) or at least 2"
    return None


def _path_problem(raw: str, cwd: Path | None, data_dir: Path | None) -> str | None:
    if not os.path.isabs(raw) or "\0" in raw:
        return "must be an absolute path"
    path = Path(os.path.realpath(raw))
    if not path.exists():
        return "does not exist"
    for guarded in (cwd, data_dir):
        if guarded is None:
            continue
        real = Path(os.path.realpath(guarded))
        if real == path or path in real.parents:
            return f"holds {real}, which no stdio server may see"
    if data_dir is not None and Path(os.path.realpath(data_dir)) in path.parents:
        return "lies in the data directory, which no stdio server may see"
    return None
