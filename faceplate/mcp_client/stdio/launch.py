"""One stdio server process to start: its argv, env and directory, and what to undo after."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from faceplate.mcp_client.stdio.sandbox import HOME
from faceplate.mcp_client.stdio.servers import StdioLimits

_log = logging.getLogger(__name__)


class Launch:
    """One stdio server process to start, and what to undo once it has ended."""

    def __init__(
        self,
        *,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        pass_fds: tuple[int, ...],
        root: Path,
        release: Callable[[], None],
    ) -> None:
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.pass_fds = pass_fds
        self.root = root
        self._release = release

    def close_fds(self) -> None:
        """After the spawn (or instead of it): the child holds its own copies."""
        for fd in self.pass_fds:
            os.close(fd)
        self.pass_fds = ()

    def cleanup(self) -> None:
        """Remove the process's directory and free its uid; blocking, run it in a thread."""
        self.close_fds()
        remove_tree(self.root)
        self._release()


def limits_spec(limits: StdioLimits, *, processes: bool) -> str:
    """The exec shim's LIMITS: no core dumps, and each limit that is not 0 (none)."""
    parts = ["core=0"]
    if limits.address_space_mib:
        parts.append(f"as={limits.address_space}")
    if limits.open_files:
        parts.append(f"nofile={limits.open_files}")
    if limits.cpu_s:
        parts.append(f"cpu={limits.cpu_s}")
    if limits.file_size_mib:
        parts.append(f"fsize={limits.file_size}")
    if limits.processes and processes:
        parts.append(f"nproc={limits.processes}")
    return ",".join(parts)


def join_path(first: str, rest: str) -> str:
    """PATH with `first` in front, each directory once."""
    parts = [first, *rest.split(":")]
    return ":".join(dict.fromkeys(p for p in parts if p))


def write_passwd(root: Path, uid: int) -> list[tuple[str, str]]:
    """A passwd and a group naming only the server's user, for programs that look it up."""
    passwd, group = root / "passwd", root / "group"
    passwd.write_text(f"mcp:x:{uid}:{uid}:MCP server:{HOME}:/bin/sh\n")
    group.write_text(f"mcp:x:{uid}:\n")
    for path in (passwd, group):
        path.chmod(0o644)
    return [(str(passwd), "/etc/passwd"), (str(group), "/etc/group")]


def nul(arg: str) -> bytes:
    return arg.encode() + b"\0"


def memory_file(name: str, content: bytes) -> int:
    """A file in memory holding `content`, positioned at its start, for a child to read."""
    fd = os.memfd_create(name, 0)
    data = memoryview(content)
    while data:
        data = data[os.write(fd, data) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def remove_tree(root: Path) -> None:
    """Remove a server's directory, even the parts it made unreadable to its owner."""
    try:
        shutil.rmtree(root)
    except FileNotFoundError:
        return
    except OSError:
        for directory, subdirectories, _ in os.walk(root):
            for name in subdirectories:  # before the walk enters them
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(directory, name), 0o700)
        try:
            shutil.rmtree(root)
        except OSError as exc:
            _log.warning("could not remove %s: %s", root, exc)
