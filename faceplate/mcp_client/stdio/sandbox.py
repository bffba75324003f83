"""Which sandbox stdio servers run in (FACEPLATE_MCP_STDIO_SANDBOX), and bubblewrap's arguments."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Final, Literal

import msgspec

from faceplate.mcp_client.stdio.view import SYSTEM_ROOTS

SandboxMode = Literal["auto", "bwrap", "none"]
SANDBOX_MODES: Final = ("auto", "bwrap", "none")

HOME: Final = "/home/mcp"  # the server's working directory inside the sandbox
SHIM: Final = "/run/faceplate/exec_shim.py"  # where the sandbox shows the exec shim
HOSTNAME: Final = "mcp"
SHM_BYTES: Final = 64 * 1024 * 1024


class Sandbox(msgspec.Struct, frozen=True, kw_only=True):
    """How stdio servers run: under bubblewrap or as plain processes.

    `privileged`: the service runs as root, so the server drops to a uid of its own inside the
    sandbox (the kernel does not apply RLIMIT_NPROC to root); otherwise bubblewrap makes a user
    namespace of the service's own uid.
    """

    kind: Literal["bwrap", "none"]
    bwrap: str | None = None
    privileged: bool = False


class SandboxError(Exception):
    """The sandbox setting cannot be met; the message is one line."""


def find_sandbox(mode: str) -> Sandbox:
    """The sandbox `mode` asks for; SandboxError when it is `bwrap` and bwrap is missing.

    `auto` is bwrap when it is on PATH, else none: the caller warns about that.
    """
    if mode == "none":
        return Sandbox(kind="none")
    found = shutil.which("bwrap")
    if found is None:
        if mode == "bwrap":
            raise SandboxError(
                "FACEPLATE_MCP_STDIO_SANDBOX=bwrap, but bwrap is not installed "
                "(Debian: apt-get install bubblewrap)"
            )
        return Sandbox(kind="none")
    return Sandbox(kind="bwrap", bwrap=os.path.abspath(found), privileged=os.geteuid() == 0)


def bwrap_args(
    *,
    privileged: bool,
    network: bool,
    env: Mapping[str, str],
    binds: Sequence[str],
    files: Sequence[tuple[str, str]],
    home: str,
    tmp: str,
    shim_fd: int,
) -> list[str]:
    """bubblewrap's options, for `--args FD`: so no value (env values are secrets) ever shows
    on a command line. The command follows `--` on the real one.

    Nothing of the host is shown but the system directories, `binds` (read-only, at the same
    path) and `files` (host file, sandbox path; read-only); `home` is the writable working
    directory and `tmp` /tmp; the exec shim's source is read from `shim_fd` into SHIM. New
    pid, ipc, uts and cgroup namespaces; the network is the host's unless `network` is false.
    """
    args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"]
    args += ["--unshare-uts", "--hostname", HOSTNAME, "--unshare-cgroup-try"]
    if not network:
        args.append("--unshare-net")
    if privileged:
        # bwrap run by root keeps every capability unless told; the exec shim needs these two
        # to drop to the server's own uid, after which it holds none.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--disable-userns"]
    args.append("--clearenv")
    for name, value in env.items():
        args += ["--setenv", name, value]
    dirs = _Dirs(args)
    for root in SYSTEM_ROOTS:
        if os.path.islink(root):
            args += ["--symlink", os.readlink(root), root]
        elif os.path.isdir(root):
            args += ["--ro-bind", root, root]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]
    # The writable directories first: a bind made later under /tmp (a host path there) must
    # not be hidden by them.
    args += ["--bind", tmp, "/tmp"]
    dirs.parents_of(HOME)
    args += ["--bind", home, HOME, "--chdir", HOME]
    dirs.made(("/tmp", HOME))
    for path in binds:
        dirs.parents_of(path)
        args += ["--ro-bind", path, path]
    for source, dest in files:
        dirs.parents_of(dest)
        args += ["--ro-bind", source, dest]
    dirs.parents_of(SHIM)
    args += ["--perms", "0444", "--ro-bind-data", str(shim_fd), SHIM]
    return args


class _Dirs:
    """Creates the parents of each mount point with mode 0755 (bwrap's own are 0700, which a
    server that is not root could not cross)."""

    def __init__(self, args: list[str]) -> None:
        self._args = args
        self._made = {"/", *SYSTEM_ROOTS}

    def made(self, paths: Sequence[str]) -> None:
        self._made.update(paths)

    def parents_of(self, path: str) -> None:
        for parent in reversed(PurePosixPath(path).parents):
            name = str(parent)
            if name not in self._made:
                self._made.add(name)
                self._args += ["--perms", "0755", "--dir", name]
