"""How many stdio processes run at once: per user and in total, idle ones closed first."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.caps import Live, make_room
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.structs import ToolResult
from tests.mcp_client.stdio_support import TOOLBOX_SERVER, config, entry, processes_with, runtime
from tests.mcp_client.support import eventually, text

ALICE = uuid.UUID("018f0000-0000-7000-8000-00000000a11c")
BOB = uuid.UUID("018f0000-0000-7000-8000-000000000b0b")

Manager = Callable[..., McpSessionManager]


@pytest.fixture
def stdio(tmp_path: Path) -> StdioRuntime:
    return runtime(tmp_path, [entry(TOOLBOX_SERVER, env=["MCP_TEST_EVENTS"])])


@pytest.fixture
async def managers(stdio: StdioRuntime) -> AsyncIterator[Manager]:
    opened: list[McpSessionManager] = []

    def make(*, per_user: int = 8, total: int = 64) -> McpSessionManager:
        manager = McpSessionManager(
            allow_private=True, stdio=stdio, stdio_max_per_user=per_user, stdio_max_total=total
        )
        opened.append(manager)
        return manager

    yield make
    for manager in opened:
        await manager.aclose()


class Server:
    """One config of the toolbox server, told apart from the others by its events file."""

    def __init__(self, user: uuid.UUID, tmp_path: Path) -> None:
        self.user = user
        self.config_id = uuid.uuid4()
        self.events = tmp_path / f"events-{self.config_id}"
        self.config = config(TOOLBOX_SERVER, {"MCP_TEST_EVENTS": str(self.events)})

    def running(self) -> bool:
        return bool(processes_with(f"MCP_TEST_EVENTS={self.events}"))

    async def call(
        self, manager: McpSessionManager, tool: str = "add", **arguments: object
    ) -> ToolResult:
        return await manager.call_tool(
            self.user,
            self.config_id,
            self.config,
            tool,
            arguments or {"a": 1, "b": 2},
            tool_call_id="c",
            display_name=f"s__{tool}",
            timeout_s=20,
        )

    def busy(self, manager: McpSessionManager) -> asyncio.Task[ToolResult]:
        return asyncio.create_task(self.call(manager, "sleep", seconds=20, label="busy"))

    async def until_busy(self) -> None:
        # A Python server takes about a second of CPU to start: wait generously on a busy machine.
        await eventually(
            lambda: self.events.exists() and "sleeping busy" in self.events.read_text(),
            timeout_s=60,
        )


async def test_at_the_users_cap_their_least_recently_used_idle_server_is_closed(
    managers: Manager, tmp_path: Path
) -> None:
    manager = managers(per_user=2)
    first, second, third = (Server(ALICE, tmp_path) for _ in range(3))
    assert text(await first.call(manager)) == "3"
    assert text(await second.call(manager)) == "3"

    assert text(await third.call(manager)) == "3"

    assert not first.running()
    assert second.running()
    assert third.running()


async def test_at_the_users_cap_with_every_server_busy_the_call_fails_clearly(
    managers: Manager, tmp_path: Path
) -> None:
    manager = managers(per_user=2)
    first, second, third = (Server(ALICE, tmp_path) for _ in range(3))
    tasks = [first.busy(manager), second.busy(manager)]
    await first.until_busy()
    await second.until_busy()

    refused = await third.call(manager)

    assert refused.is_error is True
    assert text(refused) == (
        "you already run 2 stdio MCP servers, the most one user may run at once, and each is "
        "busy; try again when a call has ended"
    )
    assert not third.running()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_one_users_cap_does_not_hold_another_user(managers: Manager, tmp_path: Path) -> None:
    manager = managers(per_user=1)
    alices, bobs = Server(ALICE, tmp_path), Server(BOB, tmp_path)
    task = alices.busy(manager)
    await alices.until_busy()

    assert text(await bobs.call(manager)) == "3"

    assert alices.running()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_at_the_total_cap_an_idle_server_of_anyone_is_closed(
    managers: Manager, tmp_path: Path
) -> None:
    manager = managers(total=2)
    alices, bobs_busy, bobs_new = (
        Server(ALICE, tmp_path),
        Server(BOB, tmp_path),
        Server(BOB, tmp_path),
    )
    assert text(await alices.call(manager)) == "3"
    task = bobs_busy.busy(manager)
    await bobs_busy.until_busy()

    assert text(await bobs_new.call(manager)) == "3"

    assert not alices.running()
    assert bobs_busy.running()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_at_the_total_cap_with_every_server_busy_the_call_fails_clearly(
    managers: Manager, tmp_path: Path
) -> None:
    manager = managers(total=1)
    alices, bobs = Server(ALICE, tmp_path), Server(BOB, tmp_path)
    task = alices.busy(manager)
    await alices.until_busy()

    refused = await bobs.call(manager)

    assert text(refused).startswith("this service already runs 1 stdio MCP servers")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _live(
    user: uuid.UUID, name: str, *, idle: bool = True, closing: bool = False, at: float = 0
) -> Live[str]:
    return Live(name, user, idle, closing, at)


def test_room_is_none_below_both_caps() -> None:
    assert make_room(ALICE, [_live(ALICE, "a")], per_user=2, total=2) is None


def test_a_process_on_its_way_out_is_waited_for_rather_than_closing_another() -> None:
    live = [_live(ALICE, "old", closing=True), _live(ALICE, "idle", at=1)]

    room = make_room(ALICE, live, per_user=2, total=9)

    assert room is not None
    assert (room.close, room.wait) == ([], ["old"])


def test_the_users_own_idle_servers_go_before_anyone_elses() -> None:
    live = [_live(BOB, "bobs", at=0), _live(ALICE, "alices", at=5)]

    room = make_room(ALICE, live, per_user=9, total=2)

    assert room is not None
    assert room.close == ["alices"]
