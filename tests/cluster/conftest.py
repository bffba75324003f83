"""Fixtures of the cluster tests: a PostgreSQL of their own that they may stop and restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from tests.support.pgserver import RestartablePostgres


@pytest.fixture(scope="session")
def restartable_pg() -> Iterator[RestartablePostgres]:
    with RestartablePostgres() as server:
        yield server


class Recorder:
    """What a listener reported, in order, and a way to wait for a condition on it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self._changed = asyncio.Event()

    def notify(self, channel: str, payload: str) -> None:
        self._add(("notify", channel, payload))

    def lost(self) -> None:
        self._add(("lost",))

    def restored(self) -> None:
        self._add(("restored",))

    @property
    def kinds(self) -> list[str]:
        return [event[0] for event in self.events]

    @property
    def payloads(self) -> list[str]:
        return [event[2] for event in self.events if event[0] == "notify"]

    def _add(self, event: tuple[str, ...]) -> None:
        self.events.append(event)
        self._changed.set()

    async def until(self, condition: Callable[[], bool], *, timeout_s: float = 30) -> None:
        """Wait for `condition` (a generous deadline: a failure, never a measurement)."""
        async with asyncio.timeout(timeout_s):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
