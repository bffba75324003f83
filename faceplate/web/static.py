"""Static files held in memory: content type, ETag, a gzip variant, and 304 on a match."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
_COMPRESSIBLE: Final = (".html", ".js", ".mjs", ".css", ".svg", ".json")
_MIN_GZIP: Final = 1024


class Asset(msgspec.Struct, frozen=True, kw_only=True):
    """One file as it is served: its bytes, their gzip form when that is smaller, and tags."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def load_assets(root: Path) -> dict[str, Asset]:
    """Every servable file under `root`, keyed by its POSIX path relative to it.

    Only known file types are served, so nothing else shipped beside them (licences, maps) is.
    """
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        content_type = _TYPES.get(path.suffix)
        if content_type is None or not path.is_file():
            continue
        body = path.read_bytes()
        gzipped = None
        if path.suffix in _COMPRESSIBLE and len(body) >= _MIN_GZIP:
            packed = gzip.compress(body, compresslevel=9, mtime=0)
            gzipped = packed if len(packed) < len(body) else None
        digest = hashlib.sha256(body).hexdigest()[:20]
        key = path.relative_to(root).as_posix()
        assets[key] = Asset(body=body, gzipped=gzipped, content_type=content_type, etag=digest)
    return assets


def _accepts_gzip(request: Request) -> bool:
    accepted = request.headers.get("accept-encoding", "")
    return any(part.split(";")[0].strip() == "gzip" for part in accepted.split(","))


def asset_response(request: Request, asset: Asset, headers: Mapping[str, str]) -> Response:
    """The asset, or 304 when the client holds this very variant; HEAD gets no body."""
    packed = asset.gzipped is not None and _accepts_gzip(request)
    etag = f'"{asset.etag}-gz"' if packed else f'"{asset.etag}"'
    out = {**headers, "ETag": etag}
    if asset.gzipped is not None:
        out["Vary"] = "Accept-Encoding"
    matches = request.headers.get("if-none-match", "")
    if etag in (tag.strip() for tag in matches.split(",")) or matches.strip() == "*":
        return Response(status_code=304, headers=out)
    body = asset.gzipped if packed and asset.gzipped is not None else asset.body
    if packed:
        out["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        out["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=out, media_type=asset.content_type)
    return Response(body, headers=out, media_type=asset.content_type)
