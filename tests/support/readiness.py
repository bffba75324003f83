"""Waiting for a `faceplate serve` process the tests started: until /readyz answers 200."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    *,
    what: str = "faceplate serve",
    timeout_s: float = 60,
    poll_s: float = 0.1,
) -> None:
    """Return once `url`/readyz answers 200; RuntimeError with the log's text when the process
    exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text()}")
        time.sleep(poll_s)
