"""What the app holds while it runs, built in the lifespan and reached from each request.

What it holds is imported for typing only: at run time this module depends on nothing of the
app, so any layer handed a request may read the state without importing the layers above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, cast

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from faceplate.agents.base import ChatModel
    from faceplate.auth import Verifier
    from faceplate.db import Database
    from faceplate.limits import RequestWindows, SocketCounts
    from faceplate.mcp_client.oauth.flow import OAuthFlow
    from faceplate.mcp_client.sessions import McpSessionManager
    from faceplate.metrics import Metrics
    from faceplate.routes.ws_limits import SocketLimits
    from faceplate.services.answers import Answers
    from faceplate.services.conversations import Conversations
    from faceplate.services.health import Health
    from faceplate.services.mcp_configs import McpConfigs
    from faceplate.services.mcp_oauth import McpOAuth
    from faceplate.services.models import Models
    from faceplate.services.turn_requests import TurnRequests
    from faceplate.services.usage import Usage
    from faceplate.services.users import Users
    from faceplate.settings import Settings
    from faceplate.turns.registry import TurnRegistry


@dataclass(eq=False)
class AppState:
    settings: Settings
    db: Database
    verifier: Verifier
    users: Users
    conversations: Conversations
    mcp_configs: McpConfigs
    mcp_oauth: McpOAuth
    oauth: OAuthFlow
    health: Health
    sessions: McpSessionManager
    turns: TurnRegistry
    model: ChatModel
    socket_limits: SocketLimits
    request_windows: RequestWindows
    socket_counts: SocketCounts
    models: Models
    usage: Usage
    answers: Answers
    turn_requests: TurnRequests
    schema_ready: bool = False
    metrics: Metrics | None = None  # FACEPLATE_METRICS=true


class State(TypedDict):
    faceplate: AppState


def app_state(conn: HTTPConnection) -> AppState:
    """The AppState of a request or WebSocket (straight from the scope: this runs per request)."""
    return cast(AppState, conn.scope["state"]["faceplate"])
