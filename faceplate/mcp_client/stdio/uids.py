"""The uids root's stdio servers run as: one per live process, unique across the host.

Several service processes on one host (`serve --workers N`, or several instances) each run
servers as root, so a per-process set of taken uids is not enough: two processes would hand
the same uid to two users' servers, which could then signal, trace or read each other and
share one RLIMIT_NPROC. A uid is therefore taken by holding an exclusive `flock` on its own
file in a directory every process of the host shares; the kernel drops the lock when the
holder exits, so a killed process frees its uids by itself.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Final

from faceplate.mcp_client.errors import ToolUnavailable

# Mapped to no user: nothing on the host owns files under these ids.
UID_BASE: Final = 0x70000000
UID_COUNT: Final = 65536
# Root's runtime directory (a tmpfs, cleared at boot), shared by every process of the host.
DEFAULT_LOCK_DIR: Final = Path("/run/faceplate/stdio-uids")


class UidPool:
    """Take and give back uids; `take` is safe from worker threads and across processes."""

    def __init__(self, lock_dir: Path = DEFAULT_LOCK_DIR) -> None:
        self._lock_dir = lock_dir
        self._held: dict[int, int] = {}  # uid -> the descriptor holding its lock
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            self._lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            for n in range(UID_COUNT):
                uid = UID_BASE + n
                if uid not in self._held and self._try_lock(uid):
                    return uid
        raise ToolUnavailable("no free uid for another stdio server")

    def give(self, uid: int) -> None:
        with self._lock:
            fd = self._held.pop(uid, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases its flock

    def _try_lock(self, uid: int) -> bool:
        fd = os.open(self._lock_dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._held[uid] = fd
        return True
