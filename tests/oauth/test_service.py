from __future__ import annotations

import pytest

from faceplate.db import Database
from faceplate.errors import Unavailable
from faceplate.mcp_client.oauth.flow import OAuthFlow
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.queries.users import get_user_by_subject
from faceplate.secrets import SecretBox
from faceplate.services.mcp_configs import McpConfigs
from faceplate.services.mcp_oauth import McpOAuth
from tests.oauth.helpers import Owner


async def test_without_a_public_url_no_authorization_starts(
    db: Database, box: SecretBox, flow: OAuthFlow, owner: Owner
) -> None:
    async with McpSessionManager(allow_private=True, oauth=flow) as sessions:
        configs = McpConfigs(
            db,
            box,
            sessions,
            stdio_servers=None,
            allow_private=True,
            tool_timeout_s=5,
            oauth=flow,
        )
        oauth = McpOAuth(configs, flow, sessions, enabled=False)
        async with db.connection() as conn:
            user = await get_user_by_subject(conn, subject_id="sub-ada")
        assert user is not None

        with pytest.raises(Unavailable, match="FACEPLATE_PUBLIC_URL"):
            await oauth.start(user, owner.config_id)
