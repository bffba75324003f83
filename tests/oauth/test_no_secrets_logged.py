"""No token, code, verifier, state or client secret reaches a log line, at any level."""

from __future__ import annotations

import logging

import pytest
from mcp.shared.exceptions import MCPError

from faceplate.mcp_client.oauth.errors import AuthorizationRequired, CallbackError
from faceplate.mcp_client.oauth.flow import OAuthFlow
from tests.oauth.helpers import Owner, approve, connect, session
from tests.support.oauth_server import AuthorizationServer


def _secrets(auth: AuthorizationServer) -> set[str]:
    found = set(auth.issued_tokens())
    for params in auth.authorize_params:
        found.update(v for k, v in params.items() if k == "state")
    secret_fields = ("code", "code_verifier", "refresh_token")
    for params in auth.token_params:
        found.update(v for k, v in params.items() if k in secret_fields)
    found.update(c.secret for c in auth.clients.values() if c.secret)
    return {s for s in found if len(s) >= 16}


async def test_a_whole_grant_life_logs_no_secret(
    flow: OAuthFlow,
    owner: Owner,
    auth: AuthorizationServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await connect(flow, owner)
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    params = approve(url)
    await flow.callback(params)
    with pytest.raises(CallbackError):
        await flow.callback(params)  # reused
    async with session(flow.tokens, owner) as (client, bearer):
        await client.call_tool("add", {"a": 1, "b": 1})
        auth.expire_access_tokens()
        await client.call_tool("add", {"a": 1, "b": 1})  # a refresh after a 401
        auth.revoke_all()
        with pytest.raises(MCPError):
            await client.call_tool("add", {"a": 1, "b": 1})
    with pytest.raises(AuthorizationRequired):
        await flow.tokens.current(owner.user_id, owner.config_id)
    await flow.challenged(owner.user_id, owner.config_id, owner.config, bearer.challenge)
    await connect(flow, owner)
    await flow.forget(owner.user_id, owner.config_id)

    secrets = _secrets(auth)
    assert len(secrets) > 10
    formatter = logging.Formatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("OAuth:" in line for line in lines)
    leaked = [line for line in lines if any(secret in line for secret in secrets)]
    assert leaked == []
