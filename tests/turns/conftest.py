"""Fixtures for the turn tests: a scripted model over real HTTP and the app pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.settings import Settings
from tests.support.app import dev_settings
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def openai_settings(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Settings:
    # The same data dir as `settings`, so the alice and bob tokens are accepted.
    return dev_settings(
        database_url,
        tmp_path / "data",
        llm="openai",
        llm_base_url=llm.base_url,
        llm_api_key="test-key",
        llm_model=llm.model,
    )


@pytest.fixture
def app(openai_settings: Settings) -> Iterator[TestClient]:
    """The app, talking to the scripted model as an OpenAI-compatible server."""
    with TestClient(create_app(openai_settings)) as client:
        yield client
