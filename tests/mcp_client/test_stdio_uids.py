"""Root's stdio uids are unique across a host's processes; a killed holder frees its own."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from faceplate.mcp_client.stdio.uids import UID_BASE, UidPool

_HOLDER = """
import sys, time
from pathlib import Path
from faceplate.mcp_client.stdio.uids import UidPool
pool = UidPool(Path(sys.argv[1]))
print(pool.take(), pool.take(), flush=True)
time.sleep(600)
"""


def _holder(lock_dir: Path) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, [int(uid) for uid in proc.stdout.readline().split()]


def test_one_process_never_hands_out_a_uid_twice_and_reuses_a_given_one(tmp_path: Path) -> None:
    pool = UidPool(tmp_path)
    first, second = pool.take(), pool.take()
    assert (first, second) == (UID_BASE, UID_BASE + 1)
    pool.give(first)
    assert pool.take() == first
    pool.give(UID_BASE + 7)  # never taken: nothing happens


def test_another_process_holding_uids_is_skipped_until_it_is_killed(tmp_path: Path) -> None:
    proc, held = _holder(tmp_path)
    try:
        assert held == [UID_BASE, UID_BASE + 1]
        pool = UidPool(tmp_path)
        mine = pool.take()
        assert mine == UID_BASE + 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    # The kernel dropped the dead holder's locks: its uids are free again.
    assert [pool.take(), pool.take()] == [UID_BASE, UID_BASE + 1]
