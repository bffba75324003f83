"""Every way a callback can be wrong: a clear error, and nothing changed."""

from __future__ import annotations

import psycopg
import pytest

from faceplate.db import Database
from faceplate.mcp_client.oauth.errors import CallbackError
from faceplate.mcp_client.oauth.flow import OAuthFlow, OAuthSettings
from faceplate.secrets import SecretBox
from tests.oauth.helpers import REDIRECT_URI, Owner, approve, connect
from tests.support.oauth_server import AuthorizationServer


def _grant_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM faceplate.mcp_oauth AS mo WHERE mo.access_token IS NOT NULL"
        ).fetchone()
    assert row is not None
    count: int = row[0]
    return count


async def _refused(flow: OAuthFlow, params: dict[str, str]) -> CallbackError:
    with pytest.raises(CallbackError) as caught:
        await flow.callback(params)
    return caught.value


async def test_an_unknown_state_is_refused(flow: OAuthFlow, database_url: str) -> None:
    error = await _refused(flow, {"code": "abc", "state": "not-a-state-we-made"})

    assert error.reason == "unknown_state"
    assert error.config_id is None
    assert error.message == "This authorization is unknown or was already completed."
    assert _grant_count(database_url) == 0


@pytest.mark.parametrize("params", [{}, {"code": "abc"}, {"state": ""}, {"state": "x" * 600}])
async def test_a_missing_or_absurd_state_is_unknown(
    flow: OAuthFlow, params: dict[str, str]
) -> None:
    assert (await _refused(flow, params)).reason == "unknown_state"


async def test_a_state_is_used_once(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer
) -> None:
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    params = approve(url)
    await flow.callback(params)

    error = await _refused(flow, params)

    assert error.reason == "unknown_state"
    assert auth.counts["code_exchanges"] == 1
    assert len(auth.live_grants()) == 1


async def test_an_expired_state_is_refused_and_nothing_is_exchanged(
    db: Database, box: SecretBox, owner: Owner, auth: AuthorizationServer, database_url: str
) -> None:
    settings = OAuthSettings(redirect_uri=REDIRECT_URI, allow_private=True, state_lifetime_s=1e-6)
    flow = OAuthFlow(db, box, settings)
    try:
        url = await flow.start(owner.user_id, owner.config_id, owner.config)
        error = await _refused(flow, approve(url))
    finally:
        await flow.aclose()

    assert error.reason == "expired"
    assert error.config_id == owner.config_id
    assert auth.counts["code_exchanges"] == 0
    assert _grant_count(database_url) == 0


async def test_an_error_from_the_server_is_shown_and_nothing_is_stored(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, database_url: str
) -> None:
    auth.options.deny = "access_denied"
    url = await flow.start(owner.user_id, owner.config_id, owner.config)

    error = await _refused(flow, approve(url))

    assert error.reason == "refused"
    assert error.message == "The authorization server answered access_denied."
    assert _grant_count(database_url) == 0
    status = (await flow.statuses(owner.user_id, [owner.config_id]))[owner.config_id]
    assert status.status == "needs_authorization"


async def test_an_error_code_that_is_not_a_word_is_not_echoed(
    flow: OAuthFlow, owner: Owner
) -> None:
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    params = {"state": approve(url)["state"], "error": "<script>alert(1)</script>"}

    error = await _refused(flow, params)

    assert error.message == "The authorization server answered an error."


@pytest.mark.parametrize("mode", ["wrong", "omit"])
async def test_a_mismatched_or_missing_issuer_is_refused(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, database_url: str, mode: str
) -> None:
    auth.options.iss = "wrong" if mode == "wrong" else "omit"
    url = await flow.start(owner.user_id, owner.config_id, owner.config)

    error = await _refused(flow, approve(url))

    assert error.reason == "issuer_mismatch"
    assert auth.counts["code_exchanges"] == 0
    assert _grant_count(database_url) == 0


async def test_no_issuer_is_fine_where_the_server_does_not_send_one(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer
) -> None:
    auth.options.iss = "omit"
    auth.options.advertise_iss = False

    await connect(flow, owner)

    assert auth.counts["code_exchanges"] == 1


async def test_a_refused_code_is_reported_and_nothing_is_stored(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, database_url: str
) -> None:
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    params = {**approve(url), "code": "made-up"}

    error = await _refused(flow, params)

    assert error.reason == "exchange_failed"
    assert error.message == "The authorization server refused the code (invalid_grant)."
    assert _grant_count(database_url) == 0


async def test_a_config_deleted_meanwhile_leaves_an_unknown_state(
    flow: OAuthFlow, owner: Owner, database_url: str
) -> None:
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM faceplate.mcp_configs")

    error = await _refused(flow, approve(url))

    assert error.reason == "unknown_state"


async def test_an_unreachable_token_endpoint_is_reported(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer
) -> None:
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    params = approve(url)
    auth.__exit__(None, None, None)

    error = await _refused(flow, params)

    assert error.reason == "exchange_failed"
    assert error.message.startswith("could not reach 127.0.0.1")
