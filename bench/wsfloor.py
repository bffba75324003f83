"""The WebSocket floor: a bare Starlette WebSocket relaying the model as the contract's frames.

It checks the same dev token, streams the same model through the same OpenAI client and sends
the frames of a turn (`message`, `turn_start`, one `text_delta` per model delta, `message`,
`turn_end`), each encoded once with msgspec; it stores nothing and has no turn machinery.
Run it with `uvicorn bench.wsfloor:app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Final, Literal
from uuid import UUID

import msgspec
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from uuid6 import uuid7

from faceplate.agents.base import TextDelta
from faceplate.agents.openai import OpenAIModel
from faceplate.auth import DevVerifier, InvalidToken, bearer_token
from faceplate.auth.dev import load_or_create_secret
from faceplate.settings import load_settings
from faceplate.structs import Message
from faceplate.web.bodies import JSONResponse

_ENC: Final = msgspec.json.Encoder()


class _Inbound(msgspec.Struct):
    type: str
    content: str = ""


class _Ready(msgspec.Struct, tag_field="type", tag="ready"):
    conversation_id: UUID
    turn: None = None


class _MessageFrame(msgspec.Struct, tag_field="type", tag="message"):
    message: Message


class _TurnStart(msgspec.Struct, tag_field="type", tag="turn_start"):
    turn_id: UUID
    seq: int


class _TextDelta(msgspec.Struct, tag_field="type", tag="text_delta"):
    turn_id: UUID
    seq: int
    message_id: UUID
    delta: str


class _TurnEnd(msgspec.Struct, tag_field="type", tag="turn_end"):
    turn_id: UUID
    seq: int
    status: Literal["completed"] = "completed"


_INBOUND: Final = msgspec.json.Decoder(_Inbound)


def _message(conversation_id: UUID, role: Literal["user", "assistant"], text: str) -> Message:
    return Message(
        id=uuid7(),
        conversation_id=conversation_id,
        role=role,
        content=text,
        tool_calls=None,
        tool_results=None,
        finish_reason="stop" if role == "assistant" else None,
        created_at=datetime.now(UTC),
    )


class _Relay:
    """The verifier and model of the process, set by the lifespan."""

    def __init__(self) -> None:
        self.verifier: DevVerifier | None = None
        self.model: OpenAIModel | None = None

    async def serve(self, ws: WebSocket) -> None:
        assert self.verifier is not None
        await ws.accept()
        try:
            await self.verifier.verify(bearer_token(ws.headers.get("authorization")))
        except InvalidToken:
            await ws.close(4401)
            return
        conversation_id = UUID(ws.path_params["id"])
        await ws.send_text(_ENC.encode(_Ready(conversation_id=conversation_id)).decode())
        try:
            while True:
                frame = _INBOUND.decode(await ws.receive_text())
                if frame.type == "user_message":
                    await self._turn(ws, conversation_id, frame.content)
        except WebSocketDisconnect:
            return

    async def _turn(self, ws: WebSocket, conversation_id: UUID, content: str) -> None:
        assert self.model is not None

        def send(frame: Any) -> Any:
            return ws.send_text(_ENC.encode(frame).decode())

        user = _message(conversation_id, "user", content)
        await send(_MessageFrame(message=user))
        turn_id, message_id, seq = uuid7(), uuid7(), 1
        await send(_TurnStart(turn_id=turn_id, seq=seq))
        parts: list[str] = []
        async for event in self.model.stream(system="", history=[user], tools=[]):
            if isinstance(event, TextDelta):
                seq += 1
                parts.append(event.text)
                await send(
                    _TextDelta(turn_id=turn_id, seq=seq, message_id=message_id, delta=event.text)
                )
        await send(_MessageFrame(message=_message(conversation_id, "assistant", "".join(parts))))
        await send(_TurnEnd(turn_id=turn_id, seq=seq + 1))


async def _ready(request: Any) -> JSONResponse:
    return JSONResponse({"status": "ready"})


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    s = load_settings()
    model = OpenAIModel(s.llm_base_url or "", s.llm_api_key, s.llm_model or "bench")
    relay.verifier = DevVerifier(load_or_create_secret(s.data_dir))
    relay.model = model
    try:
        yield
    finally:
        await model.aclose()


async def _ws(ws: WebSocket) -> None:
    await relay.serve(ws)


relay = _Relay()
app = Starlette(
    routes=[
        Route("/readyz", _ready),
        WebSocketRoute("/v1/conversations/{id}/ws", _ws),
    ],
    lifespan=_lifespan,
)
