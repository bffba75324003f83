"""Build the configured model, refusing incomplete settings with a one-line reason."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from faceplate.agents.anthropic import AnthropicModel
from faceplate.agents.base import ChatModel
from faceplate.agents.echo import EchoModel
from faceplate.agents.openai import OpenAIModel

ModelKind = Literal["openai", "anthropic", "echo"]
DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com/v1",
}


def build_model(
    kind: ModelKind,
    *,
    base_url: str | None,
    api_key: str | None,
    model: str | None,
    max_output_tokens: int = 4096,
) -> ChatModel:
    """The model for FACEPLATE_LLM*; raises ValueError naming what is missing or wrong.

    Empty strings count as unset. A key is required only for the vendors' own endpoints: other
    OpenAI-compatible servers (local ones, proxies) may need none.
    """
    if kind == "echo":
        return EchoModel()
    if kind not in DEFAULT_BASE_URLS:
        raise ValueError(f"unknown model kind {kind!r}: use openai, anthropic or echo")
    if not model:
        raise ValueError(f"{kind} needs a model name (FACEPLATE_LLM_MODEL)")
    url = base_url or DEFAULT_BASE_URLS[kind]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{kind} base URL must be an http(s) URL, got {url!r}")
    if not api_key and url.rstrip("/") == DEFAULT_BASE_URLS[kind]:
        raise ValueError(f"{kind} at {url} needs an API key (FACEPLATE_LLM_API_KEY)")
    if kind == "openai":
        return OpenAIModel(url, api_key or None, model, max_tokens=max_output_tokens)
    return AnthropicModel(url, api_key or None, model, max_tokens=max_output_tokens)
