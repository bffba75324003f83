"""The app served for real by uvicorn in a thread, and a way to run coroutines in its loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar, cast

from starlette.types import ASGIApp

from faceplate.state import AppState
from tests.support.server import ServerThread

_T = TypeVar("_T")


class LiveApp:
    """Serves `app` on 127.0.0.1:<free port>, lifespan and WebSockets as `faceplate serve` does.

    `send_buffer` shrinks the kernel send buffer of every accepted connection (they inherit it
    from the listening socket), so a client that stops reading blocks the server soon.
    """

    def __init__(self, app: ASGIApp, *, send_buffer: int | None = None) -> None:
        self._thread = ServerThread(
            app,
            lifespan="on",
            ws="auto",
            name="live-app",
            send_buffer=send_buffer,
            timeout_graceful_shutdown=5,
        )
        self.port = self._thread.port

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def state(self) -> AppState:
        return cast(AppState, self._thread.server.lifespan.state["faceplate"])

    async def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine in the server's loop (where its turns live) and await its result."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._thread.loop)
        return await asyncio.wrap_future(future)

    def __enter__(self) -> LiveApp:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._thread.stop()
