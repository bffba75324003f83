"""Everything it takes to start a stdio server: its entry, its directory, its env, its argv."""

from __future__ import annotations

import functools
import getpass
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.stdio import exec_shim
from faceplate.mcp_client.stdio.envnames import PASSED_THROUGH, TRUST_STORE_PATHS
from faceplate.mcp_client.stdio.launch import (
    Launch,
    join_path,
    limits_spec,
    memory_file,
    nul,
    remove_tree,
    write_passwd,
)
from faceplate.mcp_client.stdio.sandbox import (
    HOME,
    SHIM,
    Sandbox,
    SandboxError,
    bwrap_args,
    find_sandbox,
)
from faceplate.mcp_client.stdio.servers import (
    StdioServer,
    StdioServers,
    StdioServersError,
    load_servers,
)
from faceplate.mcp_client.stdio.uids import UidPool
from faceplate.mcp_client.stdio.view import SYSTEM_ROOTS, etc_paths, install_locations, shown
from faceplate.structs import StdioConfig

_log = logging.getLogger(__name__)

# A message (one line) a stdio server may send at most: past it the connection fails. It bounds
# the memory one server can make the service hold, and leaves room for a tool result of
# FACEPLATE_MCP_MAX_RESULT_BYTES (1 MiB by default) in JSON, escapes and base64 included.
MAX_LINE_BYTES: Final = 8 * 1024 * 1024
_SHIM_PATH: Final = os.path.abspath(exec_shim.__file__)
_SHIM_SOURCE: Final = Path(_SHIM_PATH).read_bytes()
_PYTHON: Final = os.path.realpath(sys.executable)
_SANDBOX_PATH: Final = ("/usr/local/bin", "/usr/bin", "/bin")
_INHERITED: Final = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", *PASSED_THROUGH)
_PROBE_TIMEOUT_S: Final = 20.0


class StdioSetupError(Exception):
    """The stdio settings cannot be used; the message is one line."""


class StdioRuntime:
    """The operator's servers, the sandbox they run in, and the uids of root's sandboxes."""

    def __init__(
        self,
        servers: StdioServers,
        sandbox: Sandbox,
        *,
        data_dir: Path,
        workdir_root: Path | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.servers = servers
        self.sandbox = sandbox
        self.max_line_bytes = max_line_bytes
        self._data_dir = str(data_dir.resolve())
        self._workdir_root = workdir_root
        self._environ = dict(os.environ if environ is None else environ)
        self._uids = UidPool()

    def match(self, config: StdioConfig) -> StdioServer:
        """The entry the config runs as; CommandNotAllowed naming the field that differs."""
        return self.servers.match(config)

    def prepare(self, config: StdioConfig) -> Launch:
        """Check the config, make its directory and build its argv; blocking but short."""
        entry = self.match(config)
        service_path = self._environ.get("PATH", os.defpath)
        found = shutil.which(entry.command, path=service_path)
        if found is None:
            raise ToolUnavailable(f"the stdio server command {entry.command} is not installed")
        return self._launch(entry, os.path.abspath(found), config.env)

    def probe(self) -> str | None:
        """None when a sandboxed process starts here; else why not (one line)."""
        entry = StdioServer(command=_PYTHON, args=("-I", "-S", "-c", ""))
        launch = self._launch(entry, _PYTHON, {})
        try:
            done = subprocess.run(
                launch.argv,
                env=launch.env,
                cwd=launch.cwd,
                pass_fds=launch.pass_fds,
                capture_output=True,
                timeout=_PROBE_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        finally:
            launch.cleanup()
        if done.returncode == 0:
            return None
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        return f"exit status {done.returncode}: {lines[-1][:300]}"

    def _launch(self, entry: StdioServer, command: str, user_env: Mapping[str, str]) -> Launch:
        root = Path(tempfile.mkdtemp(prefix="faceplate-stdio-", dir=self._workdir_root))
        uid = self._uids.take() if self.sandbox.privileged else None
        try:
            home, tmp = root / "home", root / "tmp"
            home.mkdir()
            tmp.mkdir()
            if uid is not None:
                os.chown(home, uid, uid)
                os.chown(tmp, uid, uid)
            limits = limits_spec(entry.limits, processes=self.sandbox.kind == "bwrap")
            ids = "-" if uid is None else f"{uid}:{uid}"
            run = [limits, ids, "--", command, *entry.args]
            if self.sandbox.kind == "none":
                argv, env, fds = self._plain(entry, command, user_env, home, tmp, run)
            else:
                argv, env, fds = self._sandboxed(entry, command, user_env, root, uid, run)
        except BaseException:
            remove_tree(root)
            self._give_uid(uid)
            raise
        release = functools.partial(self._give_uid, uid)
        return Launch(argv=argv, env=env, cwd=str(home), pass_fds=fds, root=root, release=release)

    def _plain(
        self,
        entry: StdioServer,
        command: str,
        user_env: Mapping[str, str],
        home: Path,
        tmp: Path,
        run: list[str],
    ) -> tuple[list[str], dict[str, str], tuple[int, ...]]:
        path = join_path(os.path.dirname(command), self._environ.get("PATH", ""))
        user = self._environ.get("USER") or getpass.getuser()
        env = self._env(entry, user_env, path=path, home=str(home), tmp=str(tmp), user=user)
        return [_PYTHON, "-I", "-S", _SHIM_PATH, *run], env, ()

    def _sandboxed(
        self,
        entry: StdioServer,
        command: str,
        user_env: Mapping[str, str],
        root: Path,
        uid: int | None,
        run: list[str],
    ) -> tuple[list[str], dict[str, str], tuple[int, ...]]:
        """bwrap's argv; its options (env values among them) go through a memory file."""
        assert self.sandbox.bwrap is not None
        path = join_path(os.path.dirname(command), ":".join(_SANDBOX_PATH))
        env = self._env(entry, user_env, path=path, home=HOME, tmp="/tmp", user="mcp")
        files = write_passwd(root, os.getuid() if uid is None else uid)
        shim_fd = memory_file("faceplate-exec-shim", _SHIM_SOURCE)
        try:
            args = bwrap_args(
                privileged=self.sandbox.privileged,
                network=entry.network,
                env=env,
                binds=self._binds(entry, command, path),
                files=files,
                home=str(root / "home"),
                tmp=str(root / "tmp"),
                shim_fd=shim_fd,
            )
            args_fd = memory_file("faceplate-bwrap-args", b"".join(nul(a) for a in args))
        except BaseException:
            os.close(shim_fd)
            raise
        argv = [self.sandbox.bwrap, "--args", str(args_fd), "--", _PYTHON, "-I", "-S", SHIM, *run]
        return argv, {}, (shim_fd, args_fd)

    def _env(
        self,
        entry: StdioServer,
        user_env: Mapping[str, str],
        *,
        path: str,
        home: str,
        tmp: str,
        user: str,
    ) -> dict[str, str]:
        env = {"PATH": path, "HOME": home, "TMPDIR": tmp, "USER": user, "LOGNAME": user}
        env["SHELL"] = "/bin/sh"
        env.update((k, self._environ[k]) for k in _INHERITED if k in self._environ)
        env.update(entry.set_env)
        env.update(user_env)
        return env

    def _binds(self, entry: StdioServer, command: str, path: str) -> list[str]:
        cwd = os.getcwd()
        guarded = [cwd, self._data_dir]
        wanted = etc_paths()
        wanted += install_locations(command, path, guarded)
        wanted += install_locations(_PYTHON, path, guarded)
        for name in TRUST_STORE_PATHS:
            value = self._environ.get(name, "")
            if os.path.isabs(value):
                wanted += [value, os.path.realpath(value)]
        wanted += entry.paths
        return shown(wanted, cwd=cwd, data_dir=self._data_dir, visible=SYSTEM_ROOTS)

    def _give_uid(self, uid: int | None) -> None:
        if uid is not None:
            self._uids.give(uid)


def stdio_runtime(
    servers_file: Path | None, mode: str, *, data_dir: Path, cognito: bool
) -> StdioRuntime | None:
    """The runtime the settings ask for, or None when stdio is off; StdioSetupError (one line)
    for a bad servers file, or a sandbox that is asked for and does not work."""
    try:
        sandbox = find_sandbox(mode)
    except SandboxError as exc:
        raise StdioSetupError(str(exc)) from None
    if servers_file is None:
        return None
    try:
        servers = load_servers(servers_file, cwd=Path.cwd(), data_dir=data_dir)
    except StdioServersError as exc:
        raise StdioSetupError(f"FACEPLATE_MCP_STDIO_SERVERS: {exc}") from None
    runtime = StdioRuntime(servers, sandbox, data_dir=data_dir)
    if sandbox.kind == "bwrap":
        problem = runtime.probe()
        if problem is not None and mode == "bwrap":
            raise StdioSetupError(f"FACEPLATE_MCP_STDIO_SANDBOX=bwrap, but bwrap fails: {problem}")
        if problem is not None:
            _log.warning("bwrap fails (%s): stdio servers run without a sandbox", problem)
            runtime = StdioRuntime(servers, Sandbox(kind="none"), data_dir=data_dir)
    if runtime.sandbox.kind == "none" and mode == "auto" and cognito:
        _log.warning(
            "bwrap is not installed: stdio MCP servers run without a sandbox "
            "(FACEPLATE_MCP_STDIO_SANDBOX=auto; install bubblewrap or set it to none)"
        )
    return runtime
