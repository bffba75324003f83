"""Log lines: FACEPLATE_LOG_FORMAT=json writes every line (uvicorn's too) as one JSON object
carrying the request or socket id; the security log names the user and never a secret."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from faceplate.auth.dev import load_or_create_secret, mint_token
from faceplate.logs import (
    JsonFormatter,
    new_request_id,
    new_socket_id,
    request_id,
    security,
    socket_id,
)
from tests.mcp_client.servers import free_port
from tests.routes.helpers import Headers


def _format(record: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_a_json_line_has_time_level_logger_message_id_and_extras() -> None:
    new_request_id()
    request = request_id()
    record = logging.LogRecord("faceplate.x", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    record.status = 503

    entry = _format(record)

    assert entry["level"] == "WARNING" and entry["logger"] == "faceplate.x"
    assert entry["message"] == "a b"
    assert entry["request_id"] == request
    assert entry["status"] == 503
    assert entry["time"].endswith("Z")


def test_a_json_line_carries_the_traceback_inside_it() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    entry = _format(record)

    assert entry["message"] == "failed"
    assert "ValueError: boom" in entry["exc_info"]


def test_socket_ids_and_request_ids_differ_and_never_repeat() -> None:
    ids: set[str | None] = set()
    for _ in range(100):
        new_request_id()
        new_socket_id()
        ids |= {request_id(), socket_id()}

    assert len(ids) == 200 and None not in ids


def test_a_security_line_names_the_event_and_the_user(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="faceplate.security"):
        security("mcp_config_created", "MCP config x", level=logging.INFO)

    (record,) = caplog.records
    assert record.getMessage() == "mcp_config_created: MCP config x (user unknown)"
    assert record.event == "mcp_config_created"


def test_config_changes_and_refusals_are_in_the_security_log_without_secrets(
    client: TestClient, alice: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Bearer do-not-log-me"
    config = {
        "transport": "sse",
        "url": "https://mcp.example.com/sse?k=hidden",
        "headers": {"Authorization": secret},
    }
    me = client.get("/v1/me", headers=alice).json()["id"]
    with caplog.at_level(logging.INFO, logger="faceplate.security"):
        made = client.post("/v1/mcp-configs", json={"name": "a", "config": config}, headers=alice)
        config_id = made.json()["id"]
        client.patch(f"/v1/mcp-configs/{config_id}", json={"enabled": False}, headers=alice)
        client.post(
            "/v1/mcp-configs",
            json={"name": "b", "config": {"transport": "sse", "url": "ftp://x"}},
            headers=alice,
        )
        client.delete(f"/v1/mcp-configs/{config_id}", headers=alice)

    events = [(r.event, r.user_id) for r in caplog.records]
    assert events == [
        ("mcp_config_created", me),
        ("mcp_config_changed", me),
        ("mcp_config_refused", me),
        ("mcp_config_deleted", me),
    ]
    assert "sse https://mcp.example.com" in caplog.records[0].getMessage()
    assert secret not in caplog.text and "hidden" not in caplog.text


def test_serve_with_json_logs_writes_only_json_lines(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    token = mint_token(load_or_create_secret(tmp_path), email="alice@example.com")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLATE_")}
    env |= {
        "FACEPLATE_DATABASE_URL": database_url,
        "FACEPLATE_DATA_DIR": str(tmp_path),
        "FACEPLATE_LOG_FORMAT": "json",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "faceplate.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert httpx.get(
                f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}
            ).is_success
            httpx.get(f"{url}/v1/me", headers={"Authorization": "Bearer not-a-jwt"})
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    messages = [e["message"] for e in entries]
    assert any("Application startup complete" in m for m in messages)  # uvicorn's own
    (failed,) = [e for e in entries if e.get("event") == "sign_in_failed"]
    assert failed["logger"] == "faceplate.security" and failed["request_id"].startswith("r")
    access = [e for e in entries if e["logger"] == "faceplate.access" and "/v1/me" in e["message"]]
    assert len(access) == 2 and all(e.get("request_id") for e in access)
    assert token not in log.read_text()
