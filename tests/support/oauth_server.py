"""An OAuth 2.1 authorization server for tests, served for real on 127.0.0.1.

RFC 8414 metadata, RFC 7591 dynamic registration (and pre-registered clients, and client ids
that are metadata document URLs), an authorize endpoint that approves everything and redirects
with code, state and `iss` (RFC 9207), a token endpoint that checks PKCE S256 and the RFC 8707
resource, short-lived access tokens, rotating refresh tokens with reuse detection (a refresh
token used twice revokes its whole grant), RFC 7009 revocation, and counters for the tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urlencode

from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.server import ServerThread

IssMode = Literal["send", "omit", "wrong"]


@dataclass
class Client:
    client_id: str
    secret: str | None
    auth_method: str
    redirect_uris: list[str]


@dataclass
class Grant:
    id: str
    client_id: str
    scopes: list[str]
    resource: str | None
    subject: str
    revoked: bool = False


@dataclass
class _Code:
    grant: Grant
    redirect_uri: str
    challenge: str
    expires_at: float
    used: bool = False


@dataclass
class _Access:
    grant: Grant
    expires_at: float


@dataclass
class _Refresh:
    grant: Grant
    used: bool = False


@dataclass
class Options:
    """What a test may change while the server runs."""

    access_ttl_s: float = 3600.0
    issue_refresh: bool = True
    iss: IssMode = "send"
    advertise_iss: bool = True
    registration: bool = True
    revocation: bool = True
    client_metadata_documents: bool = False
    scopes_supported: list[str] = field(default_factory=lambda: ["tools", "profile"])
    refresh_delay_s: float = 0.0
    deny: str | None = None  # an error code the authorize endpoint answers instead of a code
    metadata_issuer: str | None = None  # published instead of the real issuer
    secret_expires_in_s: int = 0  # 0: registered secrets never expire


class AuthorizationServer:
    """The server and its state; `with AuthorizationServer() as auth:` serves it."""

    def __init__(self, **options: Any) -> None:
        self.options = Options(**options)
        self.lock = threading.Lock()
        self.clients: dict[str, Client] = {}
        self.documents: dict[str, dict[str, Any]] = {}  # client id URL -> its metadata document
        self.grants: dict[str, Grant] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self.counts: Counter[str] = Counter()
        self.auth_methods: list[str] = []  # how each token request authenticated its client
        self.authorize_params: list[dict[str, str]] = []
        self.token_params: list[dict[str, str]] = []
        self.registrations: list[dict[str, Any]] = []
        self._thread = ServerThread(self._app(), name="oauth-server")

    @property
    def issuer(self) -> str:
        return self._thread.url

    def __enter__(self) -> AuthorizationServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._thread.stop()

    # --- what tests call ------------------------------------------------------------------

    def add_client(
        self, redirect_uri: str, *, secret: str | None = None, client_id: str | None = None
    ) -> Client:
        """A pre-registered client."""
        client = Client(
            client_id=client_id or f"pre-{secrets.token_hex(4)}",
            secret=secret,
            auth_method="client_secret_basic" if secret else "none",
            redirect_uris=[redirect_uri],
        )
        with self.lock:
            self.clients[client.client_id] = client
        return client

    def revoke_all(self) -> None:
        """Revoke every grant, as a user would in the server's settings."""
        with self.lock:
            for grant in self.grants.values():
                grant.revoked = True

    def expire_access_tokens(self) -> None:
        with self.lock:
            for access in self._access.values():
                access.expires_at = 0.0

    def issued_tokens(self) -> set[str]:
        """Every access and refresh token this server issued."""
        with self.lock:
            return set(self._access) | set(self._refresh)

    def live_grants(self) -> list[Grant]:
        with self.lock:
            return [g for g in self.grants.values() if not g.revoked]

    def verify(self, token: str) -> AccessToken | None:
        with self.lock:
            access = self._access.get(token)
            if access is None or access.grant.revoked or access.expires_at <= time.time():
                return None
            grant = access.grant
            return AccessToken(
                token=token,
                client_id=grant.client_id,
                scopes=list(grant.scopes),
                expires_at=int(access.expires_at) + 1,
                resource=grant.resource,
                subject=grant.subject,
            )

    # --- endpoints --------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self._metadata),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/register", self._register, methods=["POST"]),
                Route("/revoke", self._revoke, methods=["POST"]),
            ]
        )

    async def _metadata(self, request: Request) -> Response:
        o = self.options
        self.counts["metadata"] += 1
        body: dict[str, Any] = {
            "issuer": o.metadata_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "scopes_supported": o.scopes_supported,
            "authorization_response_iss_parameter_supported": o.advertise_iss,
            "client_id_metadata_document_supported": o.client_metadata_documents,
        }
        if o.registration:
            body["registration_endpoint"] = f"{self.issuer}/register"
        if o.revocation:
            body["revocation_endpoint"] = f"{self.issuer}/revoke"
        return JSONResponse(body)

    async def _register(self, request: Request) -> Response:
        data = await request.json()
        self.registrations.append(data)
        uris = data.get("redirect_uris")
        if not isinstance(uris, list) or not uris:
            return _error("invalid_redirect_uri", status=400)
        method = data.get("token_endpoint_auth_method", "client_secret_basic")
        client = Client(
            client_id=f"dyn-{secrets.token_hex(6)}",
            secret=None if method == "none" else secrets.token_urlsafe(24),
            auth_method=method,
            redirect_uris=[str(u) for u in uris],
        )
        with self.lock:
            self.clients[client.client_id] = client
            self.counts["registrations"] += 1
        answer: dict[str, Any] = {
            **data,
            "client_id": client.client_id,
            "client_id_issued_at": int(time.time()),
            "token_endpoint_auth_method": method,
        }
        if client.secret is not None:
            answer["client_secret"] = client.secret
            expires = self.options.secret_expires_in_s
            answer["client_secret_expires_at"] = int(time.time()) + expires if expires else 0
        return JSONResponse(answer, status_code=201)

    async def _authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_params.append(params)
        client = self._client(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or redirect_uri not in client.redirect_uris:
            return PlainTextResponse("unknown client or redirect URI", status_code=400)
        state = params.get("state")
        o = self.options
        if o.deny is not None:
            return self._redirect(redirect_uri, {"error": o.deny, "state": state})
        scopes = params.get("scope", "").split()
        if (
            params.get("response_type") != "code"
            or params.get("code_challenge_method") != "S256"
            or not params.get("code_challenge")
        ):
            return self._redirect(redirect_uri, {"error": "invalid_request", "state": state})
        if any(s not in o.scopes_supported for s in scopes):
            return self._redirect(redirect_uri, {"error": "invalid_scope", "state": state})
        grant = Grant(
            id=secrets.token_hex(8),
            client_id=client.client_id,
            scopes=scopes,
            resource=params.get("resource"),
            subject="person-1",
        )
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.grants[grant.id] = grant
            self._codes[code] = _Code(
                grant=grant,
                redirect_uri=redirect_uri,
                challenge=params["code_challenge"],
                expires_at=time.time() + 60,
            )
            self.counts["authorizations"] += 1
        answer: dict[str, str | None] = {"code": code, "state": state}
        if o.iss == "send":
            answer["iss"] = self.issuer
        elif o.iss == "wrong":
            answer["iss"] = "https://impostor.example"
        return self._redirect(redirect_uri, answer)

    async def _token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_params.append(form)
        client = self._authenticate(request, form)
        if client is None:
            return _error("invalid_client", status=401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem_code(client, form)
        if grant_type == "refresh_token":
            return await self._redeem_refresh(client, form)
        return _error("unsupported_grant_type")

    def _redeem_code(self, client: Client, form: dict[str, str]) -> Response:
        with self.lock:
            code = self._codes.get(form.get("code", ""))
            if code is None or code.grant.client_id != client.client_id:
                return _error("invalid_grant")
            if code.used:  # RFC 6749 §4.1.2: a code used twice revokes what it gave
                code.grant.revoked = True
                return _error("invalid_grant")
            code.used = True
            verifier = form.get("code_verifier", "")
            if (
                code.expires_at < time.time()
                or form.get("redirect_uri") != code.redirect_uri
                or _challenge(verifier) != code.challenge
                or form.get("resource") != code.grant.resource
            ):
                return _error("invalid_grant")
            self.counts["code_exchanges"] += 1
            return JSONResponse(self._issue(code.grant))

    async def _redeem_refresh(self, client: Client, form: dict[str, str]) -> Response:
        with self.lock:
            refresh = self._refresh.get(form.get("refresh_token", ""))
            if refresh is None or refresh.grant.client_id != client.client_id:
                self.counts["refused_refreshes"] += 1
                return _error("invalid_grant")
            if refresh.used:
                refresh.grant.revoked = True
                self.counts["reuse_detected"] += 1
                return _error("invalid_grant")
            refresh.used = True
            if refresh.grant.revoked:
                self.counts["refused_refreshes"] += 1
                return _error("invalid_grant")
        if self.options.refresh_delay_s:
            await asyncio.sleep(self.options.refresh_delay_s)
        with self.lock:
            self.counts["refreshes"] += 1
            return JSONResponse(self._issue(refresh.grant))

    async def _revoke(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if self._authenticate(request, form) is None:
            return _error("invalid_client", status=401)
        token = form.get("token", "")
        with self.lock:
            self.counts["revocations"] += 1
            refresh = self._refresh.get(token)
            if refresh is not None:
                refresh.grant.revoked = True
            access = self._access.get(token)
            if access is not None:
                access.expires_at = 0.0
        return Response(status_code=200)

    # --- helpers ----------------------------------------------------------------------------

    def _issue(self, grant: Grant) -> dict[str, Any]:
        """New tokens of a grant; the caller holds the lock."""
        access = secrets.token_urlsafe(24)
        self._access[access] = _Access(grant=grant, expires_at=time.time() + self._ttl())
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self._ttl(),
            "scope": " ".join(grant.scopes),
        }
        if self.options.issue_refresh:
            refresh = secrets.token_urlsafe(24)
            self._refresh[refresh] = _Refresh(grant=grant)
            body["refresh_token"] = refresh
        return body

    def _ttl(self) -> float:
        ttl = self.options.access_ttl_s
        return int(ttl) if ttl == int(ttl) else ttl

    def _client(self, client_id: str) -> Client | None:
        with self.lock:
            client = self.clients.get(client_id)
        if client is None and self.options.client_metadata_documents:
            document = self.documents.get(client_id)
            if document is not None:  # as if fetched from the client id URL
                return Client(client_id, None, "none", list(document["redirect_uris"]))
        return client

    def _authenticate(self, request: Request, form: dict[str, str]) -> Client | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            raw = base64.b64decode(header[6:]).decode()
            client_id, _, secret = (unquote(p) for p in raw.partition(":"))
            method = "client_secret_basic"
        elif "client_secret" in form:
            client_id, secret = form.get("client_id", ""), form["client_secret"]
            method = "client_secret_post"
        else:
            client_id, secret, method = form.get("client_id", ""), "", "none"
        client = self._client(client_id)
        if client is None:
            return None
        if client.secret is not None and not secrets.compare_digest(client.secret, secret):
            return None
        if client.secret is None and method != "none":
            return None
        self.auth_methods.append(method)
        return client

    @staticmethod
    def _redirect(redirect_uri: str, params: dict[str, str | None]) -> Response:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _error(code: str, *, status: int = 400) -> Response:
    return JSONResponse({"error": code}, status_code=status)
