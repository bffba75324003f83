"""build_model: the FACEPLATE_LLM* settings to a model, or a one-line refusal."""

from __future__ import annotations

import pytest

from faceplate.agents.anthropic import AnthropicModel
from faceplate.agents.base import Finish, TextDelta
from faceplate.agents.echo import EchoModel
from faceplate.agents.factory import ModelKind, build_model
from faceplate.agents.openai import OpenAIModel
from tests.agents.helpers import collect, message
from tests.support.scripted_llm import ScriptedLLM


async def test_echo_needs_nothing() -> None:
    model = build_model("echo", base_url=None, api_key=None, model=None)

    assert isinstance(model, EchoModel)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_model_name_is_required(kind: ModelKind) -> None:
    with pytest.raises(ValueError, match=r"needs a model name \(FACEPLATE_LLM_MODEL\)"):
        build_model(kind, base_url="http://localhost:1/v1", api_key="k", model="")


@pytest.mark.parametrize(
    ("kind", "url"),
    [("openai", "https://api.openai.com/v1"), ("anthropic", "https://api.anthropic.com/v1")],
)
async def test_the_vendor_default_url_needs_a_key(kind: ModelKind, url: str) -> None:
    with pytest.raises(ValueError, match=f"{kind} at {url} needs an API key"):
        build_model(kind, base_url=None, api_key=None, model="m")


async def test_a_vendor_model_is_built_with_the_default_url_and_a_key() -> None:
    model = build_model("anthropic", base_url="", api_key="sk-test", model="claude-test")
    try:
        assert isinstance(model, AnthropicModel)
        assert model.name == "claude-test"
    finally:
        await model.aclose()


async def test_a_compatible_server_needs_no_key() -> None:
    model = build_model("openai", base_url="http://localhost:11434/v1", api_key="", model="llama")
    try:
        assert isinstance(model, OpenAIModel)
    finally:
        await model.aclose()


@pytest.mark.parametrize("url", ["localhost:8080/v1", "ftp://example.com/v1", "https://"])
async def test_the_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="must be an http"):
        build_model("openai", base_url=url, api_key="k", model="m")


async def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model kind 'gemini'"):
        build_model("gemini", base_url=None, api_key=None, model="m")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_the_built_model_talks_to_its_base_url(llm: ScriptedLLM, kind: ModelKind) -> None:
    llm.reply_text(["hi"])
    model = build_model(kind, base_url=llm.base_url, api_key="k", model=llm.model)
    try:
        events = await collect(model.stream(system="", history=[message("user", "x")], tools=[]))
    finally:
        await model.aclose()

    assert events[0] == TextDelta(text="hi")
    assert isinstance(events[-1], Finish)
