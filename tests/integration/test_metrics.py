"""`/metrics` against the real app: real requests, real turns with real MCP tool calls."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.integration.helpers import (
    AppFactory,
    Headers,
    create_config,
    http_config,
    new_conversation,
    one_turn,
    results,
)
from tests.integration.metrics_scrape import label_values, parse, scrape, total, value
from tests.routes.helpers import assert_error
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import connect, receive, until

NAME = "Calc Server"
SLUG = "calc-server"
HTTP = "faceplate_http_request_duration_seconds_count"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def app(make_app: AppFactory) -> TestClient:
    return make_app(metrics=True)


# --- the route ------------------------------------------------------------------------------------


def test_metrics_are_not_served_unless_turned_on(make_app: AppFactory) -> None:
    app = make_app()
    for method in ("GET", "POST", "DELETE"):
        assert_error(app.request(method, "/metrics"), 404, "not_found")


def test_the_scrape_is_prometheus_text_and_never_cached(app: TestClient) -> None:
    response = app.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    samples = parse(response.text)
    assert value(samples, "faceplate_db_pool_max") == 20
    assert "/metrics" not in app.get("/openapi.json").text


def test_only_reads_are_answered(app: TestClient) -> None:
    response = app.post("/metrics")

    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD"


def test_with_a_token_only_that_bearer_token_is_answered(make_app: AppFactory) -> None:
    app = make_app(metrics=True, metrics_token="s3cret-Token_1")

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        response = app.get("/metrics", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "faceplate_" not in response.text
    scrape(app, {"Authorization": "Bearer s3cret-Token_1"})


# --- HTTP ----------------------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_method_and_status(
    app: TestClient, alice: Headers
) -> None:
    ids = [new_conversation(app, alice) for _ in range(3)]
    for conversation_id in ids:
        assert app.get(f"/v1/conversations/{conversation_id}", headers=alice).status_code == 200
    assert app.get("/v1/conversations/not-a-uuid", headers=alice).status_code == 404
    assert app.get("/no/such/path").status_code == 404
    assert app.get("/v1/conversations").status_code == 401

    samples = scrape(app)

    route = "/v1/conversations/{id}"
    assert value(samples, HTTP, method="GET", route=route, status="200") == 3
    assert value(samples, HTTP, method="GET", route=route, status="404") == 1
    assert value(samples, HTTP, method="POST", route="/v1/conversations", status="201") == 3
    assert value(samples, HTTP, method="GET", route="/v1/conversations", status="401") == 1
    assert value(samples, HTTP, method="GET", route="unmatched", status="404") == 1
    routes = label_values(samples, HTTP, "route")
    assert not any(c in r for c in ids for r in routes)
    assert "not-a-uuid" not in str(routes) and "/no/such/path" not in routes


def test_a_method_outside_http_s_own_is_labelled_other(app: TestClient) -> None:
    for method in ("BREW", "WHEN", "PURGE"):
        app.request(method, "/healthz")

    samples = scrape(app)

    assert label_values(samples, HTTP, "method") >= {"other"}
    assert not label_values(samples, HTTP, "method") & {"BREW", "WHEN", "PURGE"}
    assert total(samples, HTTP, method="other", route="/healthz") == 3


def test_latency_is_a_histogram_with_buckets(app: TestClient) -> None:
    app.get("/healthz")

    samples = scrape(app)

    name = "faceplate_http_request_duration_seconds_bucket"
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    assert value(samples, name, **labels, le="+Inf") == 1
    assert value(samples, name, **labels, le="30.0") == 1
    assert value(samples, "faceplate_http_request_duration_seconds_sum", **labels) > 0


# --- turns and tools -----------------------------------------------------------------------------


def test_a_turn_with_a_tool_call_in_numbers(
    app: TestClient, alice: Headers, llm: ScriptedLLM, mcp_http_url: str, test_id: str
) -> None:
    create_config(app, alice, NAME, http_config(mcp_http_url, test_id))
    secret_args = {"a": 1234567, "b": 7654321}
    llm.reply_tool_calls(
        [ScriptedCall(name=f"{SLUG}__add", arguments=secret_args)], text=["Adding."]
    )
    llm.reply_text(["It is ", "8888888."])
    conversation_id = new_conversation(app, alice)

    with connect(app, conversation_id, alice) as ws:
        assert receive(ws)["type"] == "ready"
        open_now = scrape(app)
        ws.send_json({"type": "user_message", "content": "what is 1234567 + 7654321?"})
        frames = until(ws, "turn_end")
    after = app.get("/metrics").text
    samples = parse(after)

    assert results(frames)[0]["is_error"] is False
    assert value(open_now, "faceplate_websockets_open") == 1
    assert value(samples, "faceplate_websockets_open") == 0
    assert value(samples, "faceplate_turns_started_total") == 1
    assert value(samples, "faceplate_turns_ended_total", status="completed", code="") == 1
    assert value(samples, "faceplate_turns_active") == 0
    assert value(samples, "faceplate_turn_duration_seconds_count", status="completed") == 1
    assert value(samples, "faceplate_turn_first_text_seconds_count") == 1
    assert value(samples, "faceplate_tool_call_duration_seconds_count", outcome="ok") == 1
    assert value(samples, "faceplate_model_steps_total", finish="tool_calls") == 1
    assert value(samples, "faceplate_model_steps_total", finish="stop") == 1
    assert value(samples, "faceplate_db_pool_acquire_seconds_count") > 0
    assert value(samples, "faceplate_db_pool_size") >= 1
    assert value(samples, "faceplate_db_pool_in_use") == 0
    assert value(samples, "faceplate_db_pool_waiting") == 0
    # Nothing of the user's: no tool name, no argument, no message, no id.
    for private in (SLUG, "1234567", "8888888", conversation_id, "alice"):
        assert private not in after


def test_tool_calls_are_counted_by_outcome(
    make_app: AppFactory, alice: Headers, llm: ScriptedLLM, mcp_http_url: str, test_id: str
) -> None:
    app = make_app(metrics=True, tool_timeout_s=0.5)
    create_config(app, alice, NAME, http_config(mcp_http_url, test_id))
    llm.reply_tool_calls(
        [
            ScriptedCall(name=f"{SLUG}__fail"),
            ScriptedCall(name=f"{SLUG}__divide", arguments={"a": 1}),
            ScriptedCall(name=f"{SLUG}__sleep", arguments={"seconds": 3, "label": test_id}),
            ScriptedCall(name=f"{SLUG}__echo", arguments={"text": "x"}),
        ]
    )
    llm.reply_text(["Done."])

    frames = one_turn(app, alice)
    samples = scrape(app)

    assert [r["is_error"] for r in results(frames)] == [True, True, True, False]
    name = "faceplate_tool_call_duration_seconds_count"
    assert {o: value(samples, name, outcome=o) for o in ("error", "refused", "timeout", "ok")} == {
        "error": 1,
        "refused": 1,
        "timeout": 1,
        "ok": 1,
    }
    bucket = "faceplate_tool_call_duration_seconds_bucket"
    assert value(samples, bucket, outcome="timeout", le="0.25") == 0
    assert value(samples, bucket, outcome="timeout", le="1.0") == 1


def test_a_cancelled_turn_and_its_cancelled_call(
    app: TestClient,
    alice: Headers,
    llm: ScriptedLLM,
    mcp_http_url: str,
    mcp_recorder: Any,
    test_id: str,
) -> None:
    create_config(app, alice, NAME, http_config(mcp_http_url, test_id))
    llm.reply_tool_calls(
        [ScriptedCall(name=f"{SLUG}__sleep", arguments={"seconds": 30, "label": test_id})]
    )
    conversation_id = new_conversation(app, alice)
    with connect(app, conversation_id, alice) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "user_message", "content": "sleep"})
        assert mcp_recorder.wait_for("sleeping", test_id)
        running = scrape(app)
        ws.send_json({"type": "cancel"})
        frames = until(ws, "turn_end")
    samples = scrape(app)

    assert frames[-1]["status"] == "cancelled"
    assert value(running, "faceplate_turns_active") == 1
    assert value(samples, "faceplate_turns_active") == 0
    assert value(samples, "faceplate_turns_ended_total", status="cancelled", code="") == 1
    assert value(samples, "faceplate_tool_call_duration_seconds_count", outcome="cancelled") == 1
    assert value(samples, "faceplate_turn_first_text_seconds_count") == 0


def test_a_model_error_fails_the_turn_and_is_counted(
    app: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    llm.reply_error(500)

    frames = one_turn(app, alice)
    samples = scrape(app)

    assert (frames[-1]["status"], frames[-1]["error"]["code"]) == ("failed", "upstream_error")
    assert value(samples, "faceplate_model_errors_total", code="upstream_error") == 1
    assert (
        value(samples, "faceplate_turns_ended_total", status="failed", code="upstream_error") == 1
    )
    assert value(samples, "faceplate_model_steps_total", finish="error") == 1


def test_turns_are_not_watched_while_metrics_are_off(
    make_app: AppFactory, alice: Headers, llm: ScriptedLLM
) -> None:
    app = make_app()
    llm.reply_text(["fine"])

    frames = one_turn(app, alice)

    assert frames[-1]["status"] == "completed"
    assert app.get("/metrics").status_code == 404


def test_the_scrape_names_every_metric_of_the_readme(app: TestClient) -> None:
    families = {
        line.split()[2]
        for line in app.get("/metrics").text.splitlines()
        if line.startswith("# TYPE faceplate_")
    }

    assert families == {
        "faceplate_http_request_duration_seconds",
        "faceplate_websockets_open",
        "faceplate_db_pool_size",
        "faceplate_db_pool_in_use",
        "faceplate_db_pool_max",
        "faceplate_db_pool_waiting",
        "faceplate_db_pool_acquire_seconds",
        "faceplate_db_pool_acquire_failures_total",
        "faceplate_turns_started_total",
        "faceplate_turns_ended_total",
        "faceplate_turns_active",
        "faceplate_turn_duration_seconds",
        "faceplate_turn_first_text_seconds",
        "faceplate_model_steps_total",
        "faceplate_model_errors_total",
        "faceplate_tool_call_duration_seconds",
        "faceplate_notify_lag_seconds",
    }
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    assert {name for name in families if f"`{name}" not in section} == set()


def test_the_dashboard_asks_only_for_metrics_the_service_serves(app: TestClient) -> None:
    served = {
        line.split()[2]
        for line in app.get("/metrics").text.splitlines()
        if line.startswith("# TYPE faceplate_")
    }
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]

    asked = {name for e in exprs for name in re.findall(r"faceplate_[a-z_]+", e)}
    families = {re.sub(r"_(bucket|count|sum)$", "", name) for name in asked}

    assert families - served == set()
    assert served - families == set()  # and shows every one of them
