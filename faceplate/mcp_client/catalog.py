"""The tools a turn offers the model, and the calls it routes back to their MCP servers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol
from uuid import UUID

import msgspec

from faceplate.agents.base import ToolSpec
from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.naming import config_slugs, slug_of, tool_model_names
from faceplate.mcp_client.oauth.errors import AuthorizationRequired
from faceplate.mcp_client.policy import ApprovalNeeded, Policies, tool_policy
from faceplate.mcp_client.results import error_result
from faceplate.mcp_client.sessions import McpSessionManager, fingerprint
from faceplate.structs import McpServerConfig, ToolCall, ToolResult

_log = logging.getLogger(__name__)

LISTING_CONCURRENCY: Final = 8
"""Servers listed at once when a turn starts."""


class Unusable(msgspec.Struct, frozen=True):
    """A config that cannot be connected to at all (a stored secret no key decrypts)."""

    reason: str


ConfigEntry = tuple[UUID, str, McpServerConfig | Unusable]
"""(config id, config name, decrypted config or why it cannot be used), oldest config first"""


class ToolSource(Protocol):
    """What a turn needs from tools: the specs to offer and a way to run one call.

    `call` never raises for a tool problem (it answers an error ToolResult) and is safe to run
    concurrently, e.g. every call of one model step under `asyncio.gather`. `refusal` says why
    a name that is not offered cannot be called.
    """

    async def specs(self) -> list[ToolSpec]: ...

    async def call(self, call: ToolCall) -> ToolResult: ...

    def authorization_required(self) -> list[tuple[UUID, str]]:
        """(config id, name) of each config found needing OAuth authorization since the last
        time this was asked: its tools are left out until the user authorizes it."""
        ...

    def refusal(self, name: str) -> str: ...

    def approval(self, name: str) -> ApprovalNeeded | None:
        """What the user is asked about before a call of the offered tool `name` runs; None when
        it runs at once."""
        ...


class ListingFailures:
    """Configs whose tools could not be listed lately, so the next turns skip them at once.

    Without it, a server that accepts connections and never answers would cost every turn of
    its user the whole listing timeout before the model is asked. An edited config (another
    fingerprint) is tried again at once; so is any config once `retry_after_s` has passed.
    """

    def __init__(self, *, retry_after_s: float = 30.0) -> None:
        self._retry_after_s = retry_after_s
        self._until: dict[tuple[UUID, str], tuple[float, str]] = {}

    def recent(self, config_id: UUID, config: McpServerConfig) -> str | None:
        """Why listing failed, if it failed lately; None when it should be tried."""
        key = (config_id, fingerprint(config))
        entry = self._until.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._until[key]
            return None
        return entry[1]

    def record(self, config_id: UUID, config: McpServerConfig, reason: str) -> None:
        self._until[(config_id, fingerprint(config))] = (
            time.monotonic() + self._retry_after_s,
            reason,
        )

    def clear(self, config_id: UUID, config: McpServerConfig) -> None:
        self._until.pop((config_id, fingerprint(config)), None)


class _Route(msgspec.Struct, frozen=True, kw_only=True):
    config_id: UUID
    config_name: str
    config: McpServerConfig
    tool_name: str
    annotations: dict[str, Any] | None = None
    ask: bool = False


class McpToolSource:
    """The tools of a user's enabled MCP configs, as one turn sees them.

    The servers are listed once, on the first `specs()` or `call()`, LISTING_CONCURRENCY at a
    time; a server that cannot be listed is left out with a warning, and a call of one of its
    tools is answered with why. Each config's slug is given among all of them, listed or not,
    so a tool's name does not depend on which servers answered. `policies` (by config id; none:
    every tool runs at once) leave denied tools out and say which calls ask the user first.
    """

    def __init__(
        self,
        manager: McpSessionManager,
        user_id: UUID,
        configs: Sequence[ConfigEntry],
        *,
        timeout_s: float,
        list_timeout_s: float = 10.0,
        failures: ListingFailures | None = None,
        policies: Mapping[UUID, Policies] | None = None,
    ) -> None:
        self._manager = manager
        self._policies = policies or {}
        self._failures = failures
        self._user_id = user_id
        self._configs = list(configs)
        self._timeout_s = timeout_s
        self._list_timeout_s = list_timeout_s
        self._specs: list[ToolSpec] | None = None
        self._routes: dict[str, _Route] = {}
        self._down: dict[str, tuple[str, str]] = {}  # slug -> (config name, why)
        self._lock = asyncio.Lock()
        self._unauthorized: dict[UUID, str] = {}
        self._reported: set[UUID] = set()

    async def specs(self) -> list[ToolSpec]:
        """Every listed tool under its model name (`{config-name-slug}__{tool}`)."""
        async with self._lock:
            if self._specs is None:
                self._specs = await self._list()
            return list(self._specs)

    async def call(self, call: ToolCall) -> ToolResult:
        """Run a model's call on its server; an unknown name answers an error result."""
        await self.specs()
        route = self._routes.get(call.name)
        if route is None:
            return error_result(
                self.refusal(call.name), tool_call_id=call.id, name=call.name, duration_ms=0
            )
        return await self._manager.call_tool(
            self._user_id,
            route.config_id,
            route.config,
            route.tool_name,
            call.arguments,
            tool_call_id=call.id,
            display_name=call.name,
            timeout_s=self._timeout_s,
            on_authorization_required=lambda: self._needs(route.config_id, route.config_name),
        )

    def authorization_required(self) -> list[tuple[UUID, str]]:
        """Configs found needing authorization since last asked: each once per turn."""
        new = [(i, name) for i, name in self._unauthorized.items() if i not in self._reported]
        self._reported.update(i for i, _ in new)
        return new

    def approval(self, name: str) -> ApprovalNeeded | None:
        """Why a call of `name` waits for the user (its config asks first), or None."""
        route = self._routes.get(name)
        if route is None or not route.ask:
            return None
        return ApprovalNeeded(
            config_id=route.config_id, tool=route.tool_name, annotations=route.annotations
        )

    def _needs(self, config_id: UUID, name: str) -> None:
        self._unauthorized.setdefault(config_id, name)

    def refusal(self, name: str) -> str:
        """Why `name` cannot be called: its server is down (and why), or it names nothing."""
        slug = slug_of(name)
        down = self._down.get(slug) if slug is not None else None
        if down is None:
            return f"unknown tool {name}"
        config_name, why = down
        return f"the MCP server of config {config_name!r} is unavailable: {why}"

    async def _list(self) -> list[ToolSpec]:
        gate = asyncio.Semaphore(LISTING_CONCURRENCY)

        async def listed(entry: ConfigEntry) -> list[ToolSpec] | str:
            async with gate:
                return await self._list_one(entry)

        outcomes = await asyncio.gather(*(listed(entry) for entry in self._configs))
        slugs = config_slugs([name for _, name, _ in self._configs])
        specs: list[ToolSpec] = []
        for slug, (config_id, config_name, config), outcome in zip(
            slugs, self._configs, outcomes, strict=True
        ):
            if isinstance(outcome, str):
                self._down[slug] = (config_name, outcome)
                continue
            assert not isinstance(config, Unusable)
            names = tool_model_names(slug, [spec.name for spec in outcome])
            policies = self._policies.get(config_id, Policies())
            for name, spec in zip(names, outcome, strict=True):
                policy = tool_policy(policies, spec.name, spec.annotations)
                if policy == "deny":
                    continue  # never offered: the model cannot call what it does not see
                if name is None:
                    _log.warning(
                        "tool %r of MCP config %s left out: its model name is taken by "
                        "another tool of the server",
                        spec.name[:100],
                        config_id,
                    )
                    continue
                self._routes[name] = _Route(
                    config_id=config_id,
                    config_name=config_name,
                    config=config,
                    tool_name=spec.name,
                    annotations=spec.annotations,
                    ask=policy == "ask",
                )
                specs.append(
                    ToolSpec(
                        name=name, description=spec.description, input_schema=spec.input_schema
                    )
                )
        return specs

    async def _list_one(self, entry: ConfigEntry) -> list[ToolSpec] | str:
        """The server's tools, or why there are none to offer."""
        config_id, config_name, config = entry
        if isinstance(config, Unusable):
            _log.warning("tools of MCP config %s left out: %s", config_id, config.reason)
            return config.reason
        failures = self._failures
        if failures is not None and (reason := failures.recent(config_id, config)):
            _log.info("tools of MCP config %s left out, failed lately: %s", config_id, reason)
            return reason
        try:
            specs = await self._manager.list_tools(
                self._user_id, config_id, config, timeout_s=self._list_timeout_s
            )
        except AuthorizationRequired:
            _log.info("tools of MCP config %s left out: it needs authorization", config_id)
            self._needs(config_id, config_name)
            return "it needs the user to authorize Faceplate first (OAuth)"
        except ToolUnavailable as exc:
            _log.warning("tools of MCP config %s left out: %s", config_id, exc.message)
            if failures is not None:
                failures.record(config_id, config, exc.message)
            return exc.message
        if failures is not None:
            failures.clear(config_id, config)
        return specs
