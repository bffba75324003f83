"""Driving approval tests: a config of the approval server, a turn that stops at a request."""

from __future__ import annotations

from typing import Any

import psycopg
from starlette.testclient import TestClient, WebSocketTestSession

from tests.integration.helpers import Headers, create_config, patch_config
from tests.turns.helpers import Frame, receive

NAME = "Notes"
SLUG = "notes"


def notes_config(client: TestClient, headers: Headers, url: str, **policies: Any) -> dict[str, Any]:
    """A config of the approval server, with `tool_approval` / `tool_policies` if given."""
    created = create_config(client, headers, NAME, {"transport": "streamable_http", "url": url})
    if policies:
        created = patch_config(client, headers, created["id"], policies)
    return created


def tool(name: str) -> str:
    return f"{SLUG}__{name}"


def until_any(ws: WebSocketTestSession, *kinds: str) -> list[Frame]:
    """Frames up to and including the first whose type is one of `kinds`."""
    frames = []
    while True:
        frame = receive(ws)
        frames.append(frame)
        if frame["type"] in kinds:
            return frames


def of_type(frames: list[Frame], kind: str) -> list[Frame]:
    return [f for f in frames if f["type"] == kind]


def stored_requests(database_url: str, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's tool_requests rows, oldest first."""
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(
            "SELECT kind, tool_call_id, tool, decision, decided_by, remember, content, frame"
            " FROM faceplate.tool_requests WHERE conversation_id = %s ORDER BY created_at, id",
            (conversation_id,),
        )
        names = [c.name for c in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
