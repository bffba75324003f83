"""Fixtures for the model tests: a scripted server per test and models pointed at it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from faceplate.agents.anthropic import AnthropicModel
from faceplate.agents.openai import OpenAIModel
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
async def openai_model(llm: ScriptedLLM) -> AsyncIterator[OpenAIModel]:
    model = OpenAIModel(llm.base_url, "test-key", "gpt-test", timeout_s=5)
    yield model
    await model.aclose()


@pytest.fixture
async def anthropic_model(llm: ScriptedLLM) -> AsyncIterator[AnthropicModel]:
    model = AnthropicModel(llm.base_url, "test-key", "claude-test", max_tokens=1000, timeout_s=5)
    yield model
    await model.aclose()


@pytest.fixture
def refused_url() -> str:
    """A base URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
