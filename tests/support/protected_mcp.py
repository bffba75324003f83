"""An MCP server protected by the SDK's own resource-server auth, trusting a test OAuth server.

Bearer tokens are checked by the SDK's RequireAuthMiddleware through a TokenVerifier that asks
the AuthorizationServer; tokens must carry the `tools` scope and be issued for this server's URL
(RFC 8707). A request without a valid token gets 401 with `WWW-Authenticate: Bearer
resource_metadata="…"` (RFC 9728), and the metadata is served at its well-known path.
"""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Any, Literal

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.support.oauth_server import AuthorizationServer
from tests.support.server import LateApp, ServerThread

_ANY_HOST = TransportSecuritySettings(enable_dns_rebinding_protection=False)


class _Verifier:
    def __init__(self, auth: AuthorizationServer) -> None:
        self._auth = auth

    async def verify_token(self, token: str) -> AccessToken | None:
        return self._auth.verify(token)


class ProtectedMcpServer:
    """`with ProtectedMcpServer(auth) as mcp:` serves `mcp.url` (…/mcp, or …/sse) until the
    block ends.

    `announce_metadata=False` leaves `resource_metadata` out of WWW-Authenticate, so a client
    must find the metadata at its well-known path.
    """

    def __init__(
        self,
        auth: AuthorizationServer,
        *,
        scopes: list[str] | None = None,
        announce_metadata: bool = True,
        transport: Literal["streamable_http", "sse"] = "streamable_http",
    ) -> None:
        self.announce_metadata = announce_metadata
        self.statuses: Counter[int] = Counter()
        self.bearer_requests = 0
        self._lock = threading.Lock()
        late = LateApp()
        self._thread = ServerThread(
            late, lifespan="on", name="protected-mcp", timeout_graceful_shutdown=1
        )
        self.url = f"{self._thread.url}/{'sse' if transport == 'sse' else 'mcp'}"
        server = MCPServer(
            "protected",
            log_level="WARNING",
            token_verifier=_Verifier(auth),
            auth=AuthSettings(
                issuer_url=auth.issuer,
                resource_server_url=self.url,
                required_scopes=["tools"] if scopes is None else scopes,
                validate_token_resource=True,
            ),
        )

        @server.tool(description="Who the caller is, by its access token.")
        def whoami() -> str:
            token = get_access_token()
            return "nobody" if token is None else f"{token.subject} via {token.client_id}"

        @server.tool(description="Add two integers.")
        def add(a: int, b: int) -> int:
            return a + b

        app = (
            server.sse_app(transport_security=_ANY_HOST)
            if transport == "sse"
            else server.streamable_http_app(transport_security=_ANY_HOST)
        )
        late.inner = self._observed(app)

    def __enter__(self) -> ProtectedMcpServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._thread.stop()

    def _observed(self, inner: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            if headers.get("authorization", "").lower().startswith("bearer "):
                with self._lock:
                    self.bearer_requests += 1

            async def observe(message: Message) -> None:
                if message["type"] == "http.response.start":
                    with self._lock:
                        self.statuses[message["status"]] += 1
                    if not self.announce_metadata:
                        message = {**message, "headers": _without_metadata(message["headers"])}
                await send(message)

            await inner(scope, receive, observe)

        return app


def _without_metadata(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    kept: list[Any] = []
    for name, value in headers:
        if name.lower() == b"www-authenticate":
            parts = [p for p in value.decode().split(", ") if "resource_metadata=" not in p]
            value = ", ".join(parts).encode()
        kept.append((name, value))
    return kept
