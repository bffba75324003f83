from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import psycopg
import pytest
from mcp.shared.exceptions import MCPError

from faceplate.db import Database, open_database
from faceplate.mcp_client.oauth import grants
from faceplate.mcp_client.oauth.clients import Credentials
from faceplate.mcp_client.oauth.errors import AuthorizationRequired, OAuthUnavailable
from faceplate.mcp_client.oauth.flow import OAuthFlow, OAuthSettings
from faceplate.queries import oauth as q
from faceplate.secrets import SecretBox
from tests.oauth.helpers import Owner, connect, session, text_of
from tests.support.oauth_server import AuthorizationServer
from tests.support.protected_mcp import ProtectedMcpServer


def _near_expiry(database_url: str) -> None:
    """The stored token as if issued an hour ago and expiring in a second: due for a refresh."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE faceplate.mcp_oauth SET issued_at = now() - interval '1 hour',"
            " expires_at = now() + interval '1 second'"
        )


def _stored(database_url: str, box: SecretBox) -> tuple[str | None, str | None, str]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT mo.access_token, mo.refresh_token, mo.status FROM faceplate.mcp_oauth AS mo"
        ).fetchone()
    assert row is not None
    access, refresh, status = row
    return (
        None if access is None else box.decrypt(access),
        None if refresh is None else box.decrypt(refresh),
        status,
    )


async def test_a_config_whose_server_never_asked_gets_no_token(
    flow: OAuthFlow, owner: Owner
) -> None:
    assert await flow.tokens.current(owner.user_id, owner.config_id) is None


async def test_a_token_is_read_once_and_then_kept(
    flow: OAuthFlow, owner: Owner, database_url: str, box: SecretBox
) -> None:
    await connect(flow, owner)
    first = await flow.tokens.current(owner.user_id, owner.config_id)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE faceplate.mcp_oauth SET access_token = %s", (box.encrypt("other"),))

    again = await flow.tokens.current(owner.user_id, owner.config_id)

    assert first is not None and again == first
    flow.tokens.forget(owner.user_id, owner.config_id)
    reread = await flow.tokens.current(owner.user_id, owner.config_id)
    assert reread is not None and reread.value == "other"


async def test_a_token_near_its_expiry_is_refreshed_before_use(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, database_url: str, box: SecretBox
) -> None:
    await connect(flow, owner)
    before = await flow.tokens.current(owner.user_id, owner.config_id)
    _, old_refresh, _ = _stored(database_url, box)
    _near_expiry(database_url)
    flow.tokens.forget(owner.user_id, owner.config_id)

    after = await flow.tokens.current(owner.user_id, owner.config_id)

    assert before is not None and after is not None and after.value != before.value
    assert auth.counts["refreshes"] == 1
    access, refresh, status = _stored(database_url, box)
    assert (access, status) == (after.value, "connected")
    assert refresh is not None and refresh != old_refresh
    assert auth.token_params[-1] == {
        "grant_type": "refresh_token",
        "refresh_token": old_refresh,
        "resource": owner.config.url,
    }
    async with session(flow.tokens, owner) as (client, _):
        assert text_of(await client.call_tool("add", {"a": 1, "b": 2})) == "3"


async def test_a_short_lived_token_is_refreshed_silently_in_a_session(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    auth.options.access_ttl_s = 2
    await connect(flow, owner)
    refused = protected.statuses[401]  # the probe of the start

    async with session(flow.tokens, owner) as (client, bearer):
        assert text_of(await client.call_tool("add", {"a": 1, "b": 1})) == "2"
        deadline = time.monotonic() + 10
        while auth.counts["refreshes"] < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            assert text_of(await client.call_tool("add", {"a": 2, "b": 2})) == "4"

    assert auth.counts["refreshes"] >= 2
    assert protected.statuses[401] == refused
    assert bearer.refused is False


async def test_a_token_the_server_refuses_is_refreshed_and_the_request_sent_again(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    await connect(flow, owner)
    refused = protected.statuses[401]
    async with session(flow.tokens, owner) as (client, bearer):
        assert text_of(await client.call_tool("add", {"a": 1, "b": 1})) == "2"
        auth.expire_access_tokens()

        assert text_of(await client.call_tool("add", {"a": 3, "b": 4})) == "7"

    assert protected.statuses[401] == refused + 1
    assert auth.counts["refreshes"] == 1
    assert bearer.refused is False


@pytest.fixture
async def second_db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url, min_size=1, max_size=4, timeout_s=10)
    try:
        yield database
    finally:
        await database.close()


async def test_two_instances_refreshing_at_once_redeem_the_refresh_token_once(
    flow: OAuthFlow,
    second_db: Database,
    box: SecretBox,
    oauth_settings: OAuthSettings,
    owner: Owner,
    auth: AuthorizationServer,
    database_url: str,
) -> None:
    other = OAuthFlow(second_db, box, oauth_settings)
    await connect(flow, owner)
    _near_expiry(database_url)
    flow.tokens.forget(owner.user_id, owner.config_id)
    auth.options.refresh_delay_s = 0.5  # the first refresh is still out when the second starts

    try:
        tokens = await asyncio.gather(
            flow.tokens.current(owner.user_id, owner.config_id),
            other.tokens.current(owner.user_id, owner.config_id),
        )
    finally:
        await other.aclose()

    first, second = tokens
    assert first is not None and second is not None and first.value == second.value
    assert auth.counts["refreshes"] == 1
    assert auth.counts["reuse_detected"] == 0
    assert len(auth.live_grants()) == 1
    assert _stored(database_url, box)[0] == first.value


async def test_the_test_server_revokes_a_grant_whose_refresh_token_is_redeemed_twice(
    flow: OAuthFlow,
    db: Database,
    owner: Owner,
    auth: AuthorizationServer,
    database_url: str,
    box: SecretBox,
) -> None:
    """What the row lock prevents: without it, two refreshes at once lose the grant."""
    await connect(flow, owner)
    _, refresh, _ = _stored(database_url, box)
    assert refresh is not None
    async with db.connection() as conn:
        row = await q.get_mcp_oauth(conn, user_id=owner.user_id, config_id=owner.config_id)
    assert row is not None and row.server is not None
    auth.options.refresh_delay_s = 0.5

    results = await asyncio.gather(
        grants.redeem_refresh(flow.http, row.server, _client_of(auth), refresh),
        grants.redeem_refresh(flow.http, row.server, _client_of(auth), refresh),
    )

    assert sorted(type(r).__name__ for r in results) == ["Refusal", "Tokens"]
    assert auth.counts["reuse_detected"] == 1
    assert auth.live_grants() == []


async def test_a_refused_refresh_needs_authorization(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, database_url: str, box: SecretBox
) -> None:
    await connect(flow, owner)
    auth.revoke_all()
    _near_expiry(database_url)
    flow.tokens.forget(owner.user_id, owner.config_id)

    with pytest.raises(AuthorizationRequired):
        await flow.tokens.current(owner.user_id, owner.config_id)

    assert _stored(database_url, box) == (None, None, "needs_authorization")
    with pytest.raises(AuthorizationRequired):
        await flow.tokens.current(owner.user_id, owner.config_id)
    assert auth.counts["refused_refreshes"] == 1


async def test_a_refresh_that_cannot_reach_the_server_changes_nothing(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, database_url: str, box: SecretBox
) -> None:
    await connect(flow, owner)
    stored = _stored(database_url, box)
    _near_expiry(database_url)
    flow.tokens.forget(owner.user_id, owner.config_id)
    auth.__exit__(None, None, None)

    with pytest.raises(OAuthUnavailable, match="could not reach"):
        await flow.tokens.current(owner.user_id, owner.config_id)

    assert _stored(database_url, box) == stored


async def test_a_revoked_grant_makes_the_session_report_it_needs_authorization(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    await connect(flow, owner)
    async with session(flow.tokens, owner) as (client, bearer):
        assert text_of(await client.call_tool("add", {"a": 1, "b": 1})) == "2"
        auth.revoke_all()
        with pytest.raises(MCPError):
            await client.call_tool("add", {"a": 1, "b": 1})

    assert bearer.needs_authorization
    assert bearer.challenge is not None and "resource_metadata=" in bearer.challenge
    error = await flow.challenged(
        owner.user_id, owner.config_id, owner.config, bearer.challenge, bearer.version
    )
    assert error.config_id == owner.config_id
    status = (await flow.statuses(owner.user_id, [owner.config_id]))[owner.config_id]
    assert (status.status, status.scopes, status.expires_at) == (
        "needs_authorization",
        ["tools"],
        None,
    )


async def test_a_stale_challenge_does_not_undo_a_newer_grant(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer
) -> None:
    await connect(flow, owner)
    old = await flow.tokens.current(owner.user_id, owner.config_id)
    assert old is not None
    await connect(flow, owner)

    await flow.challenged(owner.user_id, owner.config_id, owner.config, None, old.version)

    status = (await flow.statuses(owner.user_id, [owner.config_id]))[owner.config_id]
    assert status.status == "connected"


def _client_of(auth: AuthorizationServer) -> Credentials:
    (client,) = auth.clients.values()
    return Credentials(
        client_id=client.client_id,
        client_secret=client.secret,
        auth_method="client_secret_basic",
    )


async def test_a_config_authorized_on_another_instance_is_used_after_its_first_401(
    flow: OAuthFlow,
    second_db: Database,
    box: SecretBox,
    oauth_settings: OAuthSettings,
    owner: Owner,
    protected: ProtectedMcpServer,
) -> None:
    assert await flow.tokens.current(owner.user_id, owner.config_id) is None  # kept a while
    other = OAuthFlow(second_db, box, oauth_settings)
    try:
        await connect(other, owner)
    finally:
        await other.aclose()
    assert await flow.tokens.current(owner.user_id, owner.config_id) is None
    refused = protected.statuses[401]

    async with session(flow.tokens, owner) as (client, bearer):
        assert text_of(await client.call_tool("add", {"a": 5, "b": 5})) == "10"

    assert protected.statuses[401] == refused + 1
    assert bearer.refused is False
    assert await flow.tokens.current(owner.user_id, owner.config_id) is not None
