"""OAuth end to end over real HTTP through the real app: REST, the browser's round trip to the
authorization server and back to the callback, turns over a real WebSocket."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.oauth.live import (
    LiveFactory,
    authorize_in_browser,
    browser_get,
    create_config,
    live_apps,
    oauth_of,
    start,
    turn_frames,
)
from tests.support.oauth_server import AuthorizationServer
from tests.support.protected_mcp import ProtectedMcpServer
from tests.support.scripted_llm import Reply, ScriptedCall, ScriptedLLM
from tests.turns.live import LiveApp

ADD = "tracker__add"


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def make_live(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[LiveFactory]:
    with live_apps(database_url, tmp_path / "data", llm) as make:
        yield make


@pytest.fixture
def live(make_live: LiveFactory) -> LiveApp:
    return make_live()


@pytest.fixture
def client(live: LiveApp, alice: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.http, headers=alice, timeout=30) as http:
        yield http


def _connect(client: httpx.Client, protected: ProtectedMcpServer) -> str:
    """A config of the protected server, authorized through the browser; its id."""
    config_id: str = create_config(client, protected.url)["id"]
    page = authorize_in_browser(start(client, config_id))
    assert page.status == 200, page.body
    return config_id


def _near_expiry(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE faceplate.mcp_oauth SET issued_at = now() - interval '1 hour',"
            " expires_at = now() + interval '1 second'"
        )


def _tool_names(client: httpx.Client, config_id: str) -> list[str]:
    response = client.get(f"/v1/mcp-configs/{config_id}/tools")
    assert response.status_code == 200, response.text
    return sorted(tool["name"] for tool in response.json()["tools"])


def test_a_user_authorizes_once_in_the_browser_and_the_tools_work(
    client: httpx.Client,
    live: LiveApp,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
) -> None:
    config_id = create_config(client, protected.url)["id"]
    assert oauth_of(client, config_id) is None

    refused = client.get(f"/v1/mcp-configs/{config_id}/tools")
    assert refused.status_code == 424
    assert refused.json()["error"]["code"] == "authorization_required"
    assert oauth_of(client, config_id) == {
        "status": "needs_authorization",
        "scopes": ["tools"],
        "expires_at": None,
    }

    authorization_url = start(client, config_id)
    assert f"redirect_uri={live.http.replace(':', '%3A').replace('/', '%2F')}" in (
        authorization_url
    )
    page = authorize_in_browser(authorization_url)

    assert page.status == 200
    assert "Connected" in page.body
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    state = oauth_of(client, config_id)
    assert (state["status"], state["scopes"]) == ("connected", ["tools"])
    assert state["expires_at"] is not None
    assert _tool_names(client, config_id) == ["add", "whoami"]
    assert auth.counts["code_exchanges"] == 1


def test_a_turn_calls_a_protected_tool(
    client: httpx.Client,
    live: LiveApp,
    protected: ProtectedMcpServer,
    llm: ScriptedLLM,
    alice: dict[str, str],
) -> None:
    _connect(client, protected)
    llm.reply_tool_calls([ScriptedCall(name=ADD, arguments={"a": 2, "b": 3})])
    llm.reply_text(["Five."])

    frames = asyncio.run(turn_frames(live, alice))

    assert [f["type"] for f in frames if f["type"] == "authorization_required"] == []
    (result,) = [f["tool_result"] for f in frames if f["type"] == "tool_result"]
    assert result["is_error"] is False
    assert result["content"] == [{"type": "text", "text": "5"}]
    assert frames[-1]["status"] == "completed"
    offered = [t["function"]["name"] for t in llm.requests[0].body["tools"]]
    assert sorted(offered) == ["tracker__add", "tracker__whoami"]


def test_a_token_is_refreshed_silently_when_it_expires(
    client: httpx.Client,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
) -> None:
    auth.options.access_ttl_s = 2
    config_id = _connect(client, protected)
    assert _tool_names(client, config_id) == ["add", "whoami"]
    refused = protected.statuses[401]

    for _ in range(3):
        asyncio.run(asyncio.sleep(1.1))
        assert _tool_names(client, config_id) == ["add", "whoami"]

    assert auth.counts["refreshes"] >= 1
    assert protected.statuses[401] == refused
    assert oauth_of(client, config_id)["status"] == "connected"


def test_two_instances_refreshing_at_once_redeem_the_refresh_token_once(
    make_live: LiveFactory,
    live: LiveApp,
    client: httpx.Client,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
    alice: dict[str, str],
    database_url: str,
) -> None:
    config_id = _connect(client, protected)
    other = make_live()
    _near_expiry(database_url)
    auth.options.refresh_delay_s = 0.5

    async def both() -> list[httpx.Response]:
        async with (
            httpx.AsyncClient(base_url=live.http, headers=alice, timeout=30) as one,
            httpx.AsyncClient(base_url=other.http, headers=alice, timeout=30) as two,
        ):
            path = f"/v1/mcp-configs/{config_id}/tools"
            return list(await asyncio.gather(one.get(path), two.get(path)))

    responses = asyncio.run(both())

    assert [r.status_code for r in responses] == [200, 200]
    assert auth.counts["refreshes"] == 1
    assert auth.counts["reuse_detected"] == 0
    assert len(auth.live_grants()) == 1


def test_a_revoked_grant_needs_authorization_and_the_turn_says_so(
    client: httpx.Client,
    live: LiveApp,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
    llm: ScriptedLLM,
    alice: dict[str, str],
) -> None:
    config_id = _connect(client, protected)
    assert _tool_names(client, config_id) == ["add", "whoami"]
    auth.revoke_all()
    llm.reply_text(["I cannot reach the tracker."])

    frames = asyncio.run(turn_frames(live, alice))

    needed = [f for f in frames if f["type"] == "authorization_required"]
    assert [(f["config_id"], f["name"]) for f in needed] == [(config_id, "tracker")]
    kinds = [f["type"] for f in frames]
    assert kinds.index("authorization_required") < kinds.index("text_delta")
    assert needed[0]["seq"] == frames[kinds.index("turn_start")]["seq"] + 1
    assert "tools" not in llm.requests[0].body
    assert frames[-1]["status"] == "completed"
    assert oauth_of(client, config_id)["status"] == "needs_authorization"
    assert client.get(f"/v1/mcp-configs/{config_id}/tools").status_code == 424

    llm.reply_text(["Still not."])
    again = asyncio.run(turn_frames(live, alice))
    assert [f["config_id"] for f in again if f["type"] == "authorization_required"] == [config_id]


def test_a_tool_call_refused_mid_turn_is_reported_at_the_next_step(
    client: httpx.Client,
    live: LiveApp,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
    llm: ScriptedLLM,
    alice: dict[str, str],
) -> None:
    config_id = _connect(client, protected)
    calls = [ScriptedCall(name=ADD, arguments={"a": 1, "b": 1})]
    llm.reply(Reply(text=["Adding", " now."], tool_calls=calls, delay_s=0.3))
    llm.reply_text(["Done."])

    async def turn() -> list[Any]:
        # Revoked after the tools are listed, before the call runs.
        task = asyncio.create_task(turn_frames(live, alice))
        while not llm.requests:
            await asyncio.sleep(0.01)
        auth.revoke_all()
        return await task

    frames = asyncio.run(turn())

    (result,) = [f["tool_result"] for f in frames if f["type"] == "tool_result"]
    assert result["is_error"] is True
    assert "authorize" in result["content"][0]["text"]
    kinds = [f["type"] for f in frames]
    assert kinds.index("tool_result") < kinds.index("authorization_required")
    assert [f["config_id"] for f in frames if f["type"] == "authorization_required"] == [config_id]


def test_forgetting_revokes_and_the_server_asks_again(
    client: httpx.Client, protected: ProtectedMcpServer, auth: AuthorizationServer
) -> None:
    config_id = _connect(client, protected)

    assert client.delete(f"/v1/mcp-configs/{config_id}/oauth").status_code == 204

    assert auth.counts["revocations"] == 2
    assert auth.live_grants() == []
    assert oauth_of(client, config_id) is None
    assert client.get(f"/v1/mcp-configs/{config_id}/tools").status_code == 424
    assert oauth_of(client, config_id)["status"] == "needs_authorization"


def test_a_deleted_config_has_its_tokens_revoked(
    client: httpx.Client, protected: ProtectedMcpServer, auth: AuthorizationServer
) -> None:
    config_id = _connect(client, protected)

    assert client.delete(f"/v1/mcp-configs/{config_id}").status_code == 204

    assert auth.counts["revocations"] == 2
    assert auth.live_grants() == []


def test_a_repointed_config_forgets_its_grant(
    client: httpx.Client, protected: ProtectedMcpServer, auth: AuthorizationServer
) -> None:
    config_id = _connect(client, protected)
    moved = {"transport": "streamable_http", "url": f"{protected.url}/"}

    patched = client.patch(f"/v1/mcp-configs/{config_id}", json={"config": moved})

    assert patched.status_code == 200
    assert patched.json()["oauth"] is None
    assert auth.live_grants() == []


def test_the_pre_registered_client_secret_is_never_shown(
    client: httpx.Client, protected: ProtectedMcpServer, auth: AuthorizationServer, live: LiveApp
) -> None:
    registered = auth.add_client(f"{live.http}/oauth/callback", secret="pre-registered-secret")
    oauth = {"client_id": registered.client_id, "client_secret": "pre-registered-secret"}
    created = create_config(client, protected.url, oauth=oauth)

    assert created["config"]["oauth"] == {
        "client_id": registered.client_id,
        "client_secret": "********",
    }
    page = authorize_in_browser(start(client, created["id"]))
    assert page.status == 200
    assert auth.counts["registrations"] == 0
    assert "pre-registered-secret" not in client.get("/v1/mcp-configs").text


@pytest.mark.parametrize(
    "oauth",
    [{"client_id": ""}, {"client_id": "x", "secret": "y"}, {"client_id": "x", "scopes": ["a b"]}],
)
def test_a_bad_pre_registered_client_is_a_422(
    client: httpx.Client, protected: ProtectedMcpServer, oauth: dict[str, Any]
) -> None:
    config = {"transport": "streamable_http", "url": protected.url, "oauth": oauth}
    response = client.post("/v1/mcp-configs", json={"name": "bad", "config": config})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_starting_where_oauth_does_not_apply(
    client: httpx.Client, auth: AuthorizationServer, protected: ProtectedMcpServer, bob: Any
) -> None:
    plain = create_config(client, f"{auth.issuer}/.well-known/oauth-authorization-server")
    own = create_config(
        client, protected.url, name="own", headers={"Authorization": "Bearer static"}
    )
    theirs = create_config(client, protected.url, name="theirs")["id"]

    for config_id in (plain["id"], own["id"]):
        response = client.post(f"/v1/mcp-configs/{config_id}/oauth")
        assert response.status_code == 422, response.text
    assert client.post(f"/v1/mcp-configs/{theirs}/oauth", headers=bob).status_code == 404
    assert client.delete(f"/v1/mcp-configs/{theirs}/oauth", headers=bob).status_code == 404
    missing = "018f0000-0000-7000-8000-000000000000"
    assert client.post(f"/v1/mcp-configs/{missing}/oauth").status_code == 404


# --- the callback's bad cases: a clear page, nothing changed --------------------------------


def _started(client: httpx.Client, protected: ProtectedMcpServer) -> tuple[str, str]:
    config_id: str = create_config(client, protected.url)["id"]
    return config_id, start(client, config_id)


def _assert_unchanged(client: httpx.Client, config_id: str, database_url: str) -> None:
    assert oauth_of(client, config_id)["status"] == "needs_authorization"
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM faceplate.mcp_oauth AS mo WHERE mo.access_token IS NOT NULL"
        ).fetchone()
    assert row == (0,)


def test_an_unknown_state_gets_a_clear_page(live: LiveApp) -> None:
    page = browser_get(f"{live.http}/oauth/callback?code=abc&state=made-up")

    assert page.status == 400
    assert "Not connected" in page.body
    assert "unknown or was already completed" in page.body
    assert page.headers["content-type"].startswith("text/html")


def test_a_reused_state_gets_a_clear_page(
    client: httpx.Client, protected: ProtectedMcpServer, auth: AuthorizationServer
) -> None:
    _, url = _started(client, protected)
    approved = browser_get(url)
    callback = approved.headers["location"]
    assert browser_get(callback).status == 200

    again = browser_get(callback)

    assert again.status == 400
    assert "already completed" in again.body
    assert auth.counts["code_exchanges"] == 1


def test_an_expired_state_gets_a_clear_page(
    client: httpx.Client,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
    database_url: str,
) -> None:
    config_id, url = _started(client, protected)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE faceplate.oauth_states SET expires_at = now() - interval '1 s'")

    page = authorize_in_browser(url)

    assert page.status == 400
    assert "expired" in page.body
    assert auth.counts["code_exchanges"] == 0
    _assert_unchanged(client, config_id, database_url)


def test_an_error_from_the_server_gets_a_clear_page(
    client: httpx.Client,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
    database_url: str,
) -> None:
    auth.options.deny = "access_denied"
    config_id, url = _started(client, protected)

    page = authorize_in_browser(url)

    assert page.status == 400
    assert "access_denied" in page.body
    _assert_unchanged(client, config_id, database_url)


def test_a_mismatched_issuer_gets_a_clear_page(
    client: httpx.Client,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
    database_url: str,
) -> None:
    auth.options.iss = "wrong"
    config_id, url = _started(client, protected)

    page = authorize_in_browser(url)

    assert page.status == 400
    assert "expected authorization server" in page.body
    assert auth.counts["code_exchanges"] == 0
    _assert_unchanged(client, config_id, database_url)


def test_a_parameter_given_twice_is_an_unknown_state(
    client: httpx.Client, protected: ProtectedMcpServer
) -> None:
    _, url = _started(client, protected)
    callback = browser_get(url).headers["location"]

    page = browser_get(f"{callback}&state=other")

    assert page.status == 400
    assert "unknown" in page.body


def test_markup_in_a_message_is_escaped(
    client: httpx.Client, protected: ProtectedMcpServer
) -> None:
    _, url = _started(client, protected)
    callback = browser_get(url).headers["location"]
    state = callback.split("state=")[1].split("&")[0]
    base = callback.split("?")[0]

    page = browser_get(f"{base}?state={state}&error=%3Cb%3E")

    assert page.status == 400
    assert "<b>" not in page.body


def test_with_a_return_url_the_browser_is_sent_back_to_the_app(
    make_live: LiveFactory,
    alice: dict[str, str],
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
) -> None:
    live = make_live(oauth_return_url="https://app.example/settings?tab=mcp")
    with httpx.Client(base_url=live.http, headers=alice, timeout=30) as client:
        config_id = create_config(client, protected.url)["id"]
        connected = authorize_in_browser(start(client, config_id))
        auth.options.deny = "access_denied"
        refused = authorize_in_browser(start(client, config_id))

    assert connected.status == 303
    assert connected.headers["location"] == (
        f"https://app.example/settings?tab=mcp&config_id={config_id}&status=connected"
    )
    assert refused.status == 303
    assert refused.headers["location"].endswith(f"config_id={config_id}&status=error")
    unknown = browser_get(f"{live.http}/oauth/callback?state=nope")
    assert unknown.status == 400


def test_the_whole_flow_logs_no_secret(
    client: httpx.Client,
    protected: ProtectedMcpServer,
    auth: AuthorizationServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config_id = _connect(client, protected)
    _tool_names(client, config_id)
    auth.expire_access_tokens()
    _tool_names(client, config_id)
    client.delete(f"/v1/mcp-configs/{config_id}/oauth")

    secrets = {s for s in auth.issued_tokens() if len(s) >= 16}
    for params in auth.token_params:
        secrets.update(params.get(k, "") for k in ("code", "code_verifier", "refresh_token"))
    secrets.update(p["state"] for p in auth.authorize_params)
    secrets.update(c.secret for c in auth.clients.values() if c.secret)
    secrets.discard("")
    formatter = logging.Formatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert len(secrets) > 5 and any("OAuth:" in line for line in lines)
    assert [line for line in lines if any(secret in line for secret in secrets)] == []
