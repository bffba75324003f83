"""What the bench's end-to-end tests share."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ROUTES = {
    "GET /v1/conversations/{id}/messages",
    "GET /v1/conversations?limit=50",
    "GET /v1/conversations/{id}",
    "POST /v1/conversations",
    "GET /v1/me",
}
