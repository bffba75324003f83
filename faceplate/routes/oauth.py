"""The public OAuth callback: where the browser comes back from an authorization server.

It carries no bearer token (the single-use state is the credential) and answers a small page,
or redirects to FACEPLATE_OAUTH_RETURN_URL with the config id and the outcome. The page is
never cached and sends no referrer, since its URL held the code and the state.
"""

from __future__ import annotations

from html import escape
from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from faceplate.services.mcp_oauth import CallbackOutcome
from faceplate.state import app_state

_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_ONCE: Final = ("code", "state", "iss", "error")
_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
</style></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


async def oauth_callback(request: Request) -> Response:
    state = app_state(request)
    query = request.query_params
    # A parameter given twice is not guessed at: the callback then knows no state.
    params = {} if any(len(query.getlist(k)) > 1 for k in _ONCE) else dict(query)
    outcome = await state.mcp_oauth.callback(params)
    return_url = state.settings.oauth_return_url
    if return_url is not None and outcome.config_id is not None:
        status = "connected" if outcome.connected else "error"
        extra = urlencode({"config_id": str(outcome.config_id), "status": status})
        separator = "&" if "?" in return_url else "?"
        return RedirectResponse(f"{return_url}{separator}{extra}", 303, headers=_HEADERS)
    return page(outcome)


def page(outcome: CallbackOutcome) -> Response:
    """The small page a callback answers: 200 when connected, else 400 saying why."""
    title = "Connected" if outcome.connected else "Not connected"
    html = _PAGE.format(title=title, message=escape(outcome.message))
    return HTMLResponse(html, status_code=200 if outcome.connected else 400, headers=_HEADERS)
