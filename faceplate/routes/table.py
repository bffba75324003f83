"""Every route of the app, each declared once: method, path, handler and its OpenAPI operation.

The app is built from ROUTES and `/openapi.json` is generated from it, so a route cannot be
served without being documented, nor documented without being served. To add a REST route,
add one `HttpRoute` here (its handler in the area's module under routes/).
"""

from __future__ import annotations

from typing import Final

from starlette.routing import BaseRoute, Route, WebSocketRoute

from faceplate.api.pages import Page
from faceplate.api.schemas import (
    AuthorizationUrl,
    CreateConversation,
    CreateMcpConfig,
    Me,
    PatchConversation,
    PatchMcpConfig,
    SetActiveMessage,
    Status,
    ToolList,
)
from faceplate.routes import conversations, health, mcp_configs, me, oauth, ws
from faceplate.routes.metrics import metrics_route
from faceplate.routes.page import page_routes
from faceplate.services.models import ModelList
from faceplate.services.usage import UsageReport
from faceplate.structs import Conversation, McpConfig, Message
from faceplate.web.endpoint import Endpoint
from faceplate.web.openapi import Op, QueryParam, openapi_route
from faceplate.web.route_table import HttpRoute

_DECLARED: Final[list[BaseRoute]] = [
    HttpRoute(
        "GET",
        "/v1/me",
        me.get_me,
        Op(summary="The signed-in user", result=Me, errors=(409,)),
    ),
    HttpRoute(
        "GET",
        "/v1/me/usage",
        me.get_usage,
        Op(
            summary="The user's model tokens per UTC day and model, and the daily limit",
            result=UsageReport,
            query=(
                QueryParam(
                    name="from",
                    description="first UTC day, included (default: 29 days before `to`)",
                    schema={"type": "string", "format": "date"},
                ),
                QueryParam(
                    name="to",
                    description="last UTC day, included (default: today); at most 366 days",
                    schema={"type": "string", "format": "date"},
                ),
            ),
        ),
    ),
    HttpRoute(
        "GET",
        "/v1/models",
        conversations.list_models,
        Op(summary="The models a conversation may use, the default marked", result=ModelList),
    ),
    HttpRoute(
        "POST",
        "/v1/conversations",
        conversations.create_conversation,
        Op(
            summary="Create a conversation",
            body=CreateConversation,
            result=Conversation,
            status=201,
        ),
    ),
    HttpRoute(
        "GET",
        "/v1/conversations",
        conversations.list_conversations,
        Op(
            summary="Conversations, most recently updated first; archived ones apart; search",
            result=Page[Conversation],
            paged=True,
            query=(
                QueryParam(
                    name="archived",
                    description="true: the archived conversations instead of the others",
                    schema={"type": "string", "enum": ["true", "false"], "default": "false"},
                ),
                QueryParam(
                    name="q",
                    description=(
                        "search titles and messages (websearch_to_tsquery syntax: words, "
                        '"a phrase", -word, or); each item then has a snippet'
                    ),
                    schema={"type": "string", "maxLength": 1000},
                ),
            ),
        ),
    ),
    HttpRoute(
        "GET",
        "/v1/conversations/{id}",
        conversations.get_conversation,
        Op(summary="One conversation", result=Conversation),
    ),
    HttpRoute(
        "PATCH",
        "/v1/conversations/{id}",
        conversations.patch_conversation,
        Op(
            summary="Change a conversation's title, model or archived flag",
            body=PatchConversation,
            result=Conversation,
        ),
    ),
    HttpRoute(
        "PUT",
        "/v1/conversations/{id}/active",
        conversations.set_active_message,
        Op(
            summary="Continue the branch of the newest leaf under a message",
            body=SetActiveMessage,
            result=Conversation,
            errors=(409,),
        ),
    ),
    HttpRoute(
        "DELETE",
        "/v1/conversations/{id}",
        conversations.delete_conversation,
        Op(summary="Delete a conversation, its messages and its running turn", status=204),
    ),
    HttpRoute(
        "GET",
        "/v1/conversations/{id}/messages",
        conversations.list_messages,
        Op(
            summary="The messages of the active branch, root first",
            result=Page[Message],
            paged=True,
        ),
    ),
    WebSocketRoute("/v1/conversations/{id}/ws", ws.conversation_socket),
    HttpRoute(
        "POST",
        "/v1/mcp-configs",
        mcp_configs.create_mcp_config,
        Op(
            summary="Create an MCP server config",
            body=CreateMcpConfig,
            result=McpConfig,
            status=201,
            errors=(409,),
        ),
    ),
    HttpRoute(
        "GET",
        "/v1/mcp-configs",
        mcp_configs.list_mcp_configs,
        Op(summary="MCP server configs by name", result=Page[McpConfig], paged=True),
    ),
    HttpRoute(
        "GET",
        "/v1/mcp-configs/{id}",
        mcp_configs.get_mcp_config,
        Op(summary="One MCP server config", result=McpConfig),
    ),
    HttpRoute(
        "PATCH",
        "/v1/mcp-configs/{id}",
        mcp_configs.patch_mcp_config,
        Op(
            summary="Change an MCP server config; '********' keeps a stored secret",
            body=PatchMcpConfig,
            result=McpConfig,
            errors=(409,),
        ),
    ),
    HttpRoute(
        "DELETE",
        "/v1/mcp-configs/{id}",
        mcp_configs.delete_mcp_config,
        Op(summary="Delete an MCP server config", status=204),
    ),
    HttpRoute(
        "GET",
        "/v1/mcp-configs/{id}/tools",
        mcp_configs.list_tools,
        Op(summary="The server's live tools", result=ToolList, errors=(424, 502)),
    ),
    HttpRoute(
        "POST",
        "/v1/mcp-configs/{id}/oauth",
        mcp_configs.start_oauth,
        Op(
            summary="Start authorizing Faceplate with the server's OAuth: open the URL",
            result=AuthorizationUrl,
            errors=(422, 502),
        ),
    ),
    HttpRoute(
        "DELETE",
        "/v1/mcp-configs/{id}/oauth",
        mcp_configs.forget_oauth,
        Op(summary="Forget the OAuth tokens (revoked where the server allows)", status=204),
    ),
    # The browser's return from an authorization server: public, a page, not part of the API.
    Route(
        "/oauth/callback", Endpoint(oauth.oauth_callback), methods=["GET"], include_in_schema=False
    ),
    HttpRoute(
        "GET",
        "/healthz",
        health.healthz,
        Op(summary="Liveness", result=Status, auth=False),
    ),
    HttpRoute(
        "GET",
        "/readyz",
        health.readyz,
        Op(
            summary="Readiness: database answers, schema at head",
            result=Status,
            auth=False,
            errors=(503,),
        ),
    ),
]

ROUTES: Final[list[BaseRoute]] = [
    *_DECLARED,
    openapi_route(_DECLARED),
    metrics_route(),
    *page_routes(),
]
"""The app's route table: the declared routes, /openapi.json (the document built from them),
/metrics and the chat page's routes, which are not REST API and so are not in the document."""
