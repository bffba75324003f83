"""A scripted LLM served over real HTTP, speaking OpenAI Chat Completions and Anthropic Messages."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import msgspec

from tests.support.scripted_replies import (
    Event,
    Reply,
    ScriptedCall,
    anthropic_events,
    error_body,
    openai_events,
)
from tests.support.server import ServerThread

__all__ = ["RecordedRequest", "Reply", "ScriptedCall", "ScriptedLLM"]

_Scope = dict[str, Any]
_Receive = Callable[[], Awaitable[dict[str, Any]]]
_Send = Callable[[dict[str, Any]], Awaitable[None]]
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True)
class RecordedRequest:
    """A request as received: `path` like "/v1/chat/completions", headers lower-cased."""

    path: str
    headers: dict[str, str]
    body: Any


class ScriptedLLM:
    """A scripted model server on 127.0.0.1 and a free port, run by uvicorn in its own thread.

        with ScriptedLLM() as llm:  # or `async with`
            llm.reply_tool_calls([ScriptedCall(name="files__read", arguments={"path": "a"})])
            llm.reply_text(["The file ", "says hi."])
            model = OpenAIModel(llm.base_url, "key", llm.model)  # or AnthropicModel(...)
            ...  # two rounds of model.stream(...)
            assert llm.requests[1].body["messages"][-1]["role"] == "tool"

    One server answers both APIs: `POST {base_url}/chat/completions` streams OpenAI chunks and
    `POST {base_url}/messages` streams Anthropic events. Each request, whichever API, takes the
    next `Reply` from one queue (first in, first out) and is recorded in `requests`.

    When the queue is empty the server answers with the `default` reply given to the constructor;
    without one it answers HTTP 500 "scripted LLM: no reply scripted", so an unexpected extra
    model call fails loudly instead of passing by accident.

    `stop()` (the end of the `with` block) aborts streams still running and closes every
    connection. The script and the recorded requests may be used from any thread.
    """

    def __init__(self, *, default: Reply | None = None, model: str = "scripted") -> None:
        self.model = model
        self._default = default
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: ServerThread | None = None
        self._port = 0

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What FACEPLATE_LLM_BASE_URL would be: `http://127.0.0.1:<port>/v1`."""
        if not self._port:
            raise RuntimeError("ScriptedLLM is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    def env(self, kind: Literal["openai", "anthropic"] = "openai") -> dict[str, str]:
        """FACEPLATE_LLM* settings pointing the app at this server (for monkeypatch.setenv)."""
        return {
            "FACEPLATE_LLM": kind,
            "FACEPLATE_LLM_BASE_URL": self.base_url,
            "FACEPLATE_LLM_API_KEY": "scripted-key",
            "FACEPLATE_LLM_MODEL": self.model,
        }

    def start(self) -> ScriptedLLM:
        """Serve in a background thread; returns once the port accepts connections."""
        if self._thread is not None:
            raise RuntimeError("ScriptedLLM is already started")
        self._thread = ServerThread(
            self._app, name="scripted-llm", interface="asgi3", timeout_graceful_shutdown=5
        )
        self._port = self._thread.port
        self._thread.start()
        return self

    def stop(self) -> None:
        """Abort streams still running, close every connection and wait for the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.stop()

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ScriptedLLM:
        return self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- the script -----------------------------------------------------------------------------

    def reply(self, reply: Reply) -> None:
        """Queue one reply for the next unanswered request."""
        with self._lock:
            self._replies.append(reply)

    def reply_text(
        self,
        chunks: Sequence[str],
        *,
        delay_s: float = 0.0,
        usage: tuple[int, int] | None = None,
        finish: str | None = None,
    ) -> None:
        """A plain answer streamed as these chunks."""
        self.reply(Reply(text=chunks, delay_s=delay_s, usage=usage, finish=finish))

    def reply_tool_calls(
        self,
        calls: Sequence[ScriptedCall],
        *,
        text: Sequence[str] = (),
        usage: tuple[int, int] | None = None,
        interleave: bool = False,
    ) -> None:
        """A step asking for tools (after optional text), finishing "tool_calls"."""
        self.reply(Reply(text=text, tool_calls=calls, usage=usage, interleave=interleave))

    def reply_drop(self, chunks: Sequence[str], *, after: int) -> None:
        """Stream the first `after` chunks, then close the connection mid-stream."""
        self.reply(Reply(text=chunks, drop_after=after))

    def reply_error(self, status: int, message: str = "scripted failure") -> None:
        """Answer an HTTP error status with the API's JSON error body."""
        self.reply(Reply(status=status, error_message=message))

    def clear(self) -> None:
        """Forget the replies not used yet (a test that failed half way leaves some)."""
        with self._lock:
            self._replies.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """Replies queued and not yet used."""
        with self._lock:
            return len(self._replies)

    # --- serving --------------------------------------------------------------------------------

    async def _app(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        path: str = scope["path"]
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        try:
            parsed: Any = msgspec.json.decode(body) if body else None
        except msgspec.DecodeError:
            parsed = body.decode(errors="replace")
        api: Literal["openai", "anthropic"] | None = None
        if path.endswith("/chat/completions"):
            api = "openai"
        elif path.endswith("/messages"):
            api = "anthropic"
        with self._lock:
            self._requests.append(RecordedRequest(path, headers, parsed))
            if api is None:
                reply = None  # a wrong path is recorded but takes no reply from the script
            else:
                reply = self._replies.popleft() if self._replies else self._default
        if api is None:
            await _send_json(send, 404, {"error": {"message": f"no route {path}"}})
            return
        if reply is None:
            reply = Reply(status=500, error_message="scripted LLM: no reply scripted")
        if reply.status is not None:
            await _send_json(send, reply.status, error_body(api, reply.error_message))
            return
        events = openai_events(reply, self.model) if api == "openai" else anthropic_events(reply)
        await self._stream(events, reply, receive, send)

    async def _stream(
        self, events: list[Event], reply: Reply, receive: _Receive, send: _Send
    ) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
                }
            )
            sent = 0
            for event in events:
                if event.kind != "other" and reply.drop_after == sent:
                    return  # the response stays incomplete: the server closes the connection
                if event.kind != "other" and reply.end_after == sent:
                    break
                if event.kind == "delta":
                    if not await self._pause(reply.delay_s, gone):
                        return
                    sent += 1
                await send({"type": "http.response.body", "body": event.data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _pause(self, seconds: float, gone: asyncio.Event) -> bool:
        """Sleep; False when the client went away or the server is stopping."""
        deadline = time.monotonic() + seconds
        while True:
            if gone.is_set() or self._stopping.is_set():
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, 0.01))


async def _send_json(send: _Send, status: int, payload: Any) -> None:
    body = _ENCODER.encode(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
