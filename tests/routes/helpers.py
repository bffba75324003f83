"""Shared checks for route tests: the contract's error body, and rows written with plain SQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import psycopg
from psycopg.types.json import Jsonb
from uuid6 import uuid7

Headers = dict[str, str]


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """Assert the contract's error body with this status and code; return its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str)
    assert message
    return message


def insert_message(
    database_url: str,
    conversation_id: str,
    *,
    role: str,
    content: str,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_results: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
) -> UUID:
    """Insert one message row as the server would store it during a turn (the new leaf of the
    conversation's active branch); returns its id."""
    message_id = uuid7()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            CHAINED_INSERT,
            (
                UUID(conversation_id),
                message_id,
                role,
                content,
                None if tool_calls is None else Jsonb(tool_calls),
                None if tool_results is None else Jsonb(tool_results),
                finish_reason,
            ),
        )
    return message_id


CHAINED_INSERT = (
    "WITH conv AS ("
    "  SELECT c.id, c.active_message_id FROM faceplate.conversations AS c"
    "  WHERE c.id = %s FOR UPDATE),"
    " placed AS ("
    "  SELECT conv.id AS conversation_id, p.id AS parent_id, COALESCE(p.depth + 1, 0) AS depth"
    "  FROM conv LEFT JOIN faceplate.messages AS p ON p.id = conv.active_message_id),"
    " added AS ("
    "  INSERT INTO faceplate.messages (id, conversation_id, parent_id, depth, role, content,"
    "    tool_calls, tool_results, finish_reason)"
    "  SELECT %s, pl.conversation_id, pl.parent_id, pl.depth, %s, %s, %s, %s, %s FROM placed AS pl"
    "  RETURNING id, conversation_id)"
    " UPDATE faceplate.conversations AS c SET active_message_id = a.id"
    " FROM added AS a WHERE c.id = a.conversation_id"
)
"""Adds a message under the conversation's active leaf and makes it the leaf, as a turn does."""


def stored_config(database_url: str, config_id: str) -> Any:
    """The raw JSONB `config` of an MCP config row, as the database holds it."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT config FROM faceplate.mcp_configs WHERE id = %s", (UUID(config_id),)
        ).fetchone()
    assert row is not None
    return row[0]
