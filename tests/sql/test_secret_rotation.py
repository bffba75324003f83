"""Key rotation reaches every secret the database holds: MCP configs' header and env values
and OAuth client secrets, each config's OAuth tokens, registered clients, pending states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from cryptography.fernet import Fernet
from uuid6 import uuid7

from faceplate.db import Database
from faceplate.queries.mcp_configs import create_mcp_config
from faceplate.secrets import SecretBox
from faceplate.services.secret_rotation import rotate_secrets
from faceplate.structs import HttpConfig, McpServerConfig, OAuthClient
from tests.sql.factories import make_user

K1, K2, K3 = (Fernet.generate_key().decode() for _ in range(3))
OLD, NEW, LOST = SecretBox(K1), SecretBox(K2), SecretBox(K3)


async def test_every_stored_secret_is_re_encrypted_with_the_first_key(db: Database) -> None:
    config = HttpConfig(
        url="https://mcp.example.com/mcp",
        headers={"Authorization": "h"},
        oauth=OAuthClient(client_id="c", client_secret="cs"),
    )
    async with db.connection() as conn:
        user = await make_user(conn)
        row = await create_mcp_config(
            conn,
            id=uuid7(),
            user_id=user.id,
            name="a",
            config=OLD.seal(config),
            enabled=True,
            max_configs=5,
            tool_approval="never",
            tool_policies={},
        )
        assert row is not None
        await conn.execute(
            "INSERT INTO faceplate.mcp_oauth (config_id, status, client_secret, access_token,"
            " refresh_token) VALUES ($1, 'connected', NULL, $2, $3)",
            row.id,
            OLD.encrypt("access"),
            LOST.encrypt("refresh"),
        )
        await conn.execute(
            "INSERT INTO faceplate.oauth_clients (issuer, redirect_uri, client_id, client_secret,"
            " auth_method) VALUES ('https://as', 'https://cb', 'id', $1, 'client_secret_basic')",
            OLD.encrypt("registered"),
        )
        await conn.execute(
            "INSERT INTO faceplate.oauth_states (state_hash, user_id, config_id, code_verifier,"
            " redirect_uri, server, scopes, client_id, client_secret, client_auth, expires_at)"
            " VALUES ($1, $2, $3, $4, 'https://cb', '{}'::jsonb, '{}', 'id', NULL, 'none', $5)",
            b"\x01" * 32,
            user.id,
            row.id,
            OLD.encrypt("verifier"),
            datetime.now(UTC) + timedelta(minutes=10),
        )
        lost_refresh = await conn.fetchval("SELECT refresh_token FROM faceplate.mcp_oauth")

    done = await rotate_secrets(db, SecretBox([K2, K1]))

    assert [(d.values, d.changed_meanwhile) for d in done] == [(2, 0), (1, 0), (1, 0), (1, 0)]
    assert [d.unreadable for d in done] == [[], [f"{row.id} oauth refresh_token"], [], []]
    async with db.connection() as conn:
        stored = await conn.fetchrow(
            "SELECT mc.config, mo.access_token, mo.refresh_token, oc.client_secret AS registered,"
            " os.code_verifier FROM faceplate.mcp_configs AS mc"
            " JOIN faceplate.mcp_oauth AS mo ON mo.config_id = mc.id"
            " JOIN faceplate.oauth_states AS os ON os.config_id = mc.id"
            " CROSS JOIN faceplate.oauth_clients AS oc"
        )
    assert stored is not None
    opened = NEW.open(msgspec.convert(stored["config"], McpServerConfig))
    assert isinstance(opened, HttpConfig) and opened.headers == {"Authorization": "h"}
    assert isinstance(opened.oauth, OAuthClient) and opened.oauth.client_secret == "cs"
    assert NEW.decrypt(stored["access_token"]) == "access"
    assert NEW.decrypt(stored["registered"]) == "registered"
    assert NEW.decrypt(stored["code_verifier"]) == "verifier"
    assert stored["refresh_token"] == lost_refresh  # no key decrypts it: left exactly as it was
