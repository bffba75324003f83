"""`faceplate serve --workers 2` with metrics: whichever worker answers a scrape shows the whole
server, and a worker killed with SIGKILL leaves no live gauge behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.metrics_scrape import Samples, parse, value
from tests.mcp_client.servers import free_port

HEALTH = {"method": "GET", "route": "/healthz", "status": "200"}
COUNT = "faceplate_http_request_duration_seconds_count"


def _workers(parent: int) -> set[int]:
    """The uvicorn workers of `parent` (multiprocessing's spawned children, not its tracker)."""
    found = set()
    for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:
            found.add(int(pid))
    return found


def _fresh(url: str, path: str) -> httpx.Response:
    """A request on a connection of its own, so that any worker may take it."""
    with httpx.Client(base_url=url, timeout=5) as client:
        return client.get(path, headers={"Connection": "close"})


def _scrape(url: str) -> Samples:
    response = _fresh(url, "/metrics")
    assert response.status_code == 200, response.text
    return parse(response.text)


def _until(check: Callable[[], bool], what: str, log: Path, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


@pytest.fixture
def server(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACEPLATE_", "PROMETHEUS"))}
    env |= {
        "FACEPLATE_DATABASE_URL": database_url,
        "FACEPLATE_DATA_DIR": str(tmp_path),
        "FACEPLATE_METRICS": "true",
        "FACEPLATE_DB_POOL_MIN": "1",
        "FACEPLATE_DB_POOL_MAX": "3",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "faceplate.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return _fresh(url, "/readyz").status_code == 200 and len(_workers(process.pid)) == 2
            except httpx.HTTPError:
                assert process.poll() is None, log.read_text()
                return False

        _until(ready, "serve did not get ready", log)
        yield url, process, log
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_every_scrape_shows_every_worker(
    server: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, _, log = server
    # Both workers' pools are in the sums once each has sampled its own (at start, then each s).
    _until(lambda: value(_scrape(url), "faceplate_db_pool_max") == 6, "one worker missing", log)
    for _ in range(40):
        assert _fresh(url, "/healthz").status_code == 200
    # Each worker moves its requests into the shared files within a second.
    _until(lambda: value(_scrape(url), COUNT, **HEALTH) == 40, "requests not all counted", log)

    counts = [value(_scrape(url), COUNT, **HEALTH) for _ in range(12)]

    assert counts == [40] * 12


def test_a_killed_worker_leaves_no_live_gauge_behind(
    server: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, process, log = server
    _until(lambda: value(_scrape(url), "faceplate_db_pool_max") == 6, "one worker missing", log)
    for _ in range(10):
        _fresh(url, "/healthz")
    _until(lambda: value(_scrape(url), COUNT, **HEALTH) == 10, "requests not all counted", log)
    victim = min(_workers(process.pid))

    os.kill(victim, signal.SIGKILL)
    _until(lambda: len(_workers(process.pid) - {victim}) == 2, "uvicorn did not replace it", log)
    # The new worker has run its start-up (which samples its pool) when uvicorn says so.
    _until(lambda: log.read_text().count("Application startup complete") == 3, "no restart", log)

    samples = [_scrape(url) for _ in range(8)]
    assert {value(s, "faceplate_db_pool_max") for s in samples} == {6}
    # Counters of the dead worker stay: the server's totals never go back.
    assert {value(s, COUNT, **HEALTH) for s in samples} == {10}
