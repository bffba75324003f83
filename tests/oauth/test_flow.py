from __future__ import annotations

import base64
import hashlib

import psycopg
import pytest

from faceplate.db import Database
from faceplate.mcp_client.oauth.errors import OAuthNotOffered
from faceplate.mcp_client.oauth.flow import OAuthFlow, OAuthSettings, state_hash
from faceplate.queries import oauth as q
from faceplate.secrets import SecretBox
from faceplate.structs import HttpConfig, OAuthClient
from tests.oauth.helpers import (
    REDIRECT_URI,
    Owner,
    approve,
    connect,
    make_owner,
    query,
    session,
    text_of,
)
from tests.support.oauth_server import AuthorizationServer
from tests.support.protected_mcp import ProtectedMcpServer


async def test_the_authorization_url_asks_for_a_pkce_code_for_this_resource(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    url = await flow.start(owner.user_id, owner.config_id, owner.config)

    assert url.startswith(f"{auth.issuer}/authorize?")
    params = query(url)
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["resource"] == protected.url
    assert params["scope"] == "tools"
    assert params["client_id"].startswith("dyn-")
    assert len(params["state"]) >= 43


async def test_start_marks_the_config_as_needing_authorization(
    flow: OAuthFlow, owner: Owner
) -> None:
    await flow.start(owner.user_id, owner.config_id, owner.config)

    statuses = await flow.statuses(owner.user_id, [owner.config_id])

    assert statuses[owner.config_id].status == "needs_authorization"
    assert statuses[owner.config_id].scopes == ["tools"]
    assert statuses[owner.config_id].expires_at is None


async def test_the_callback_stores_tokens_that_the_protected_server_accepts(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer
) -> None:
    connected = await connect(flow, owner)

    assert (connected.user_id, connected.config_id) == (owner.user_id, owner.config_id)
    status = (await flow.statuses(owner.user_id, [owner.config_id]))[owner.config_id]
    assert status.status == "connected"
    assert status.scopes == ["tools"]
    assert status.expires_at is not None
    assert auth.counts["code_exchanges"] == 1
    async with session(flow.tokens, owner) as (client, bearer):
        result = await client.call_tool("whoami", {})
    assert text_of(result) == f"person-1 via {auth.authorize_params[0]['client_id']}"
    assert bearer.refused is False


async def test_tokens_are_stored_encrypted(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, box: SecretBox, database_url: str
) -> None:
    await connect(flow, owner)

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT mo.access_token, mo.refresh_token FROM faceplate.mcp_oauth AS mo"
        ).fetchone()
    assert row is not None
    issued = auth.issued_tokens()
    assert not set(row) & issued
    assert {box.decrypt(row[0]), box.decrypt(row[1])} <= issued


async def test_the_state_is_stored_only_as_its_hash_and_the_verifier_encrypted(
    flow: OAuthFlow, owner: Owner, box: SecretBox, database_url: str
) -> None:
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    params = query(url)

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT os.state_hash, os.code_verifier FROM faceplate.oauth_states AS os"
        ).fetchall()
    assert len(rows) == 1
    stored_hash, sealed_verifier = rows[0]
    assert bytes(stored_hash) == state_hash(params["state"])
    assert params["state"].encode() not in bytes(stored_hash)
    verifier = box.decrypt(sealed_verifier)
    assert verifier is not None and verifier not in sealed_verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == params["code_challenge"]


async def test_dynamic_registration_happens_once_per_authorization_server(
    flow: OAuthFlow, db: Database, owner: Owner, auth: AuthorizationServer
) -> None:
    other = await make_owner(db, owner.config.url, name="bob")

    await connect(flow, owner)
    await connect(flow, other)

    assert auth.counts["registrations"] == 1
    assert len({p["client_id"] for p in auth.authorize_params}) == 1
    registered = auth.registrations[0]
    assert registered["redirect_uris"] == [REDIRECT_URI]
    assert registered["grant_types"] == ["authorization_code", "refresh_token"]
    assert auth.auth_methods == ["client_secret_basic", "client_secret_basic"]


async def test_the_registration_is_kept_encrypted(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer, db: Database, box: SecretBox
) -> None:
    await flow.start(owner.user_id, owner.config_id, owner.config)

    async with db.connection() as conn:
        stored = await q.get_oauth_client(conn, issuer=auth.issuer, redirect_uri=REDIRECT_URI)
    assert stored is not None
    client = auth.clients[stored.client_id]
    assert stored.client_secret is not None and stored.client_secret != client.secret
    assert box.decrypt(stored.client_secret) == client.secret


async def test_an_expired_registration_is_replaced(
    flow: OAuthFlow, db: Database, owner: Owner, auth: AuthorizationServer
) -> None:
    auth.options.secret_expires_in_s = -1
    await flow.start(owner.user_id, owner.config_id, owner.config)
    auth.options.secret_expires_in_s = 0

    await connect(flow, owner)

    assert auth.counts["registrations"] == 2
    assert auth.token_params[0]["grant_type"] == "authorization_code"


async def test_a_pre_registered_client_is_used_without_registration(
    flow: OAuthFlow, db: Database, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    client = auth.add_client(REDIRECT_URI, secret="s3cret-value")
    oauth = OAuthClient(client_id=client.client_id, client_secret="s3cret-value", scopes=["tools"])
    owner = await make_owner(db, protected.url, oauth=oauth)

    await connect(flow, owner)

    assert auth.counts["registrations"] == 0
    assert auth.authorize_params[0]["client_id"] == client.client_id
    assert auth.auth_methods == ["client_secret_basic"]
    async with session(flow.tokens, owner) as (mcp, _):
        assert text_of(await mcp.call_tool("add", {"a": 2, "b": 3})) == "5"


async def test_a_pre_registered_client_chooses_the_scopes(
    flow: OAuthFlow, db: Database, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    client = auth.add_client(REDIRECT_URI)
    oauth = OAuthClient(client_id=client.client_id, scopes=["tools", "profile"])
    owner = await make_owner(db, protected.url, oauth=oauth)

    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    await flow.callback(approve(url))

    assert query(url)["scope"] == "tools profile"
    assert auth.auth_methods == ["none"]
    status = (await flow.statuses(owner.user_id, [owner.config_id]))[owner.config_id]
    assert status.scopes == ["tools", "profile"]


async def test_a_client_metadata_document_url_is_the_client_id_where_accepted(
    db: Database, box: SecretBox, owner: Owner, auth: AuthorizationServer
) -> None:
    document = "https://faceplate.example/oauth/client.json"
    auth.options.client_metadata_documents = True
    auth.documents[document] = {"redirect_uris": [REDIRECT_URI]}
    settings = OAuthSettings(
        redirect_uri=REDIRECT_URI, allow_private=True, client_metadata_url=document
    )
    flow = OAuthFlow(db, box, settings)
    try:
        url = await flow.start(owner.user_id, owner.config_id, owner.config)
        await flow.callback(approve(url))
    finally:
        await flow.aclose()

    assert query(url)["client_id"] == document
    assert auth.counts["registrations"] == 0
    assert auth.auth_methods == ["none"]


async def test_a_client_metadata_document_url_is_not_used_where_not_advertised(
    db: Database, box: SecretBox, owner: Owner, auth: AuthorizationServer
) -> None:
    settings = OAuthSettings(
        redirect_uri=REDIRECT_URI,
        allow_private=True,
        client_metadata_url="https://faceplate.example/oauth/client.json",
    )
    flow = OAuthFlow(db, box, settings)
    try:
        url = await flow.start(owner.user_id, owner.config_id, owner.config)
    finally:
        await flow.aclose()

    assert query(url)["client_id"].startswith("dyn-")
    assert auth.counts["registrations"] == 1


async def test_a_server_that_does_not_ask_for_authorization_is_refused(
    flow: OAuthFlow, db: Database, auth: AuthorizationServer
) -> None:
    owner = await make_owner(db, f"{auth.issuer}/.well-known/oauth-authorization-server")

    with pytest.raises(OAuthNotOffered, match="does not ask for authorization"):
        await flow.start(owner.user_id, owner.config_id, owner.config)


async def test_a_config_with_its_own_authorization_header_is_refused(
    flow: OAuthFlow, db: Database, owner: Owner
) -> None:
    config = HttpConfig(url=owner.config.url, headers={"Authorization": "Bearer static"})

    with pytest.raises(OAuthNotOffered, match="Authorization header"):
        await flow.start(owner.user_id, owner.config_id, config)


async def test_forget_revokes_the_tokens_and_drops_them(
    flow: OAuthFlow, owner: Owner, auth: AuthorizationServer
) -> None:
    await connect(flow, owner)
    await flow.start(owner.user_id, owner.config_id, owner.config)

    assert await flow.forget(owner.user_id, owner.config_id) is True

    assert auth.counts["revocations"] == 2
    assert auth.live_grants() == []
    assert await flow.statuses(owner.user_id, [owner.config_id]) == {}
    assert await flow.forget(owner.user_id, owner.config_id) is False


async def test_forget_of_another_users_config_changes_nothing(
    flow: OAuthFlow, db: Database, owner: Owner, auth: AuthorizationServer
) -> None:
    await connect(flow, owner)
    stranger = await make_owner(db, owner.config.url, name="eve")

    assert await flow.forget(stranger.user_id, owner.config_id) is False

    assert auth.counts["revocations"] == 0
    assert (await flow.statuses(owner.user_id, [owner.config_id]))[owner.config_id].status == (
        "connected"
    )


async def test_an_sse_server_is_authorized_and_used_the_same_way(
    flow: OAuthFlow, db: Database, auth: AuthorizationServer
) -> None:
    with ProtectedMcpServer(auth, transport="sse") as sse:
        owner = await make_owner(db, sse.url, sse=True)
        url = await flow.start(owner.user_id, owner.config_id, owner.config)
        await flow.callback(approve(url))
        async with session(flow.tokens, owner) as (client, bearer):
            result = await client.call_tool("add", {"a": 20, "b": 22})

    assert query(url)["resource"] == sse.url
    assert text_of(result) == "42"
    assert bearer.refused is False
