"""What the sandbox of a stdio server shows of the host's files, all of it read-only."""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

# Shown whole when they are directories, recreated when they are symlinks (merged /usr).
SYSTEM_ROOTS: Final = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs read of /etc to link, resolve names, check certificates and tell the time;
# each only where it exists. Nothing else of /etc (no shadow, no npmrc, no gitconfig).
ETC: Final = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/pki",
    "/etc/crypto-policies",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/mime.types",
    "/etc/os-release",
)
ETC_GLOBS: Final = ("/etc/python3*",)  # Debian's python3 reads its sitecustomize there
# A command's "installation" is never one of these (nor a home directory): only its file is shown.
_BROAD: Final = frozenset({"/", "/home", "/root", "/opt", "/srv", "/var", "/tmp", "/etc", "/mnt"})
_CHAIN_MAX: Final = 40


def etc_paths() -> list[str]:
    found = [p for p in ETC if os.path.lexists(p)]
    for pattern in ETC_GLOBS:
        found.extend(sorted(glob.glob(pattern)))
    return found


def install_locations(command: str, path_env: str, guarded: Sequence[str] = ()) -> list[str]:
    """The host paths a command needs to run: its installation and its #! interpreter's.

    For the command, every symlink on the way to its file, and the interpreter named on that
    file's `#!` line (`/usr/bin/env NAME` is looked up on `path_env`): the directory above its
    `bin/` (or else its own directory), or only the file when that directory is too broad or
    holds one of the `guarded` directories.
    """
    found: list[str] = []
    _chain(command, found, guarded)
    interpreter = _shebang(os.path.realpath(command), path_env)
    if interpreter is not None:
        _chain(interpreter, found, guarded)
    return found


def _chain(path: str, found: list[str], guarded: Sequence[str]) -> None:
    current = os.path.normpath(os.path.abspath(path))
    for _ in range(_CHAIN_MAX):
        found.append(_installation(current, guarded))
        if not os.path.islink(current):
            return
        target = os.readlink(current)
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))


def _installation(path: str, guarded: Sequence[str]) -> str:
    directory = os.path.dirname(path)
    in_bin = os.path.basename(directory) in ("bin", "sbin")
    root = os.path.dirname(directory) if in_bin else directory
    home = str(Path.home())
    if root in _BROAD or root in (home, os.path.join(home, ".local")):
        return path
    if any(_holds(root, g) or _holds(os.path.realpath(root), g) for g in guarded):
        return path
    return root


def _shebang(path: str, path_env: str) -> str | None:
    try:
        with open(path, "rb") as file:
            head = file.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].decode(errors="replace").split()
    if not words:
        return None
    if os.path.basename(words[0]) == "env":
        names = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        return shutil.which(names[0], path=path_env) if names else None
    return words[0] if os.path.isabs(words[0]) else None


def shown(paths: Iterable[str], *, cwd: str, data_dir: str, visible: Sequence[str]) -> list[str]:
    """What of `paths` to bind: not what `visible` already shows, nothing under another path
    kept, nothing that holds the service's working or data directory, nothing inside the data
    directory; shallowest first, so a bind never hides an earlier one."""
    guarded = [os.path.realpath(cwd), os.path.realpath(data_dir)]
    data = guarded[1]
    kept: list[str] = []
    normalised = {os.path.normpath(p) for p in paths}
    for path in sorted(normalised, key=lambda p: (p.count("/"), p)):
        if not os.path.lexists(path) or _under(path, visible) or _under(path, kept):
            continue
        forms = (path, os.path.realpath(path))
        if any(_holds(f, g) or _under(f, [data]) for f in forms for g in guarded):
            continue
        kept.append(path)
    return kept


def _holds(path: str, guarded: str) -> bool:
    """Whether `path` is `guarded` or one of its ancestors (both absolute and normalised)."""
    return _within(guarded, path)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(_within(path, root) for root in roots)


def _within(path: str, root: str) -> bool:
    """Whether `path` is `root` or lies in it; plain strings, as this runs per launch."""
    return path == root or path.startswith(root.rstrip("/") + "/")
