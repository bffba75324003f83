"""The dev key: processes starting at once on one new data dir all get the same, whole key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from faceplate.secrets import load_or_create_key

_LOAD = "import sys; from pathlib import Path; from faceplate.secrets import load_or_create_key;"
_LOAD += " print(load_or_create_key(Path(sys.argv[1])))"


def test_racing_processes_agree_on_one_key(tmp_path: Path) -> None:
    for attempt in range(3):
        data = tmp_path / f"data{attempt}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _LOAD, str(data)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(6)
        ]
        keys = {proc.communicate()[0].strip() for proc in procs}
        assert all(proc.returncode == 0 for proc in procs)
        assert keys == {(data / "secret.key").read_text().strip()}
        (key,) = keys
        Fernet(key.encode())  # whole: a valid key, not a half-written file
        assert load_or_create_key(data) == key
        assert [p.name for p in data.iterdir()] == ["secret.key"]  # no drafts left behind
