"""A stand-in for the Cognito Hosted UI: /oauth2/authorize signs one person in at once and
sends the browser back with a code; /oauth2/token checks PKCE (S256) and the redirect URI,
and answers with ID tokens signed by the test issuer's key (and refreshes them)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.jwks import DEFAULT_CLIENT_ID, SigningKey, id_token
from tests.support.server import ServerThread


@dataclass
class _Grant:
    challenge: str
    redirect_uri: str


@dataclass
class HostedUi:
    key: SigningKey
    issuer: str
    email: str
    ttl_s: int = 3600
    client_id: str = DEFAULT_CLIENT_ID
    grants: list[str] = field(default_factory=list)  # grant_type of each token request
    tokens: list[str] = field(default_factory=list)  # every ID token handed out
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _refresh: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ServerThread | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None
        return self._server.url

    def __enter__(self) -> HostedUi:
        app = Starlette(
            routes=[
                Route("/oauth2/authorize", self._authorize),
                Route("/oauth2/token", self._token, methods=["POST"]),
                Route("/logout", self._logout),
            ]
        )
        self._server = ServerThread(app, name="hosted-ui").start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.stop()

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        if (
            q.get("response_type") != "code"
            or q.get("client_id") != self.client_id
            or q.get("code_challenge_method") != "S256"
            or "openid" not in q.get("scope", "").split()
            or not q.get("code_challenge")
        ):
            return Response("bad authorize request", status_code=400)
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = _Grant(q["code_challenge"], q["redirect_uri"])
        back = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{back}", status_code=302)

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        cors = {"Access-Control-Allow-Origin": request.headers.get("origin", "*")}
        grant_type = str(form.get("grant_type"))
        with self._lock:
            self.grants.append(grant_type)
            if form.get("client_id") != self.client_id:
                return JSONResponse({"error": "invalid_client"}, 400, headers=cors)
            if grant_type == "authorization_code":
                grant = self._codes.pop(str(form.get("code")), None)
                verifier = str(form.get("code_verifier", "")).encode()
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest())
                if (
                    grant is None
                    or grant.redirect_uri != form.get("redirect_uri")
                    or challenge.rstrip(b"=").decode() != grant.challenge
                ):
                    return JSONResponse({"error": "invalid_grant"}, 400, headers=cors)
            elif grant_type == "refresh_token":
                if form.get("refresh_token") not in self._refresh:
                    return JSONResponse({"error": "invalid_grant"}, 400, headers=cors)
            else:
                return JSONResponse({"error": "unsupported_grant_type"}, 400, headers=cors)
            token = id_token(
                self.key,
                issuer=self.issuer,
                email=self.email,
                client_id=self.client_id,
                ttl_s=self.ttl_s,
            )
            self.tokens.append(token)
            body = {
                "id_token": token,
                "access_token": "opaque",
                "expires_in": self.ttl_s,
                "token_type": "Bearer",
            }
            if grant_type == "authorization_code":
                refresh = secrets.token_urlsafe(16)
                self._refresh.add(refresh)
                body["refresh_token"] = refresh
        return JSONResponse(body, headers=cors)

    async def _logout(self, request: Request) -> Response:
        return RedirectResponse(request.query_params.get("logout_uri", "/"), status_code=302)
