from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from faceplate.cluster.envelope import Message, Reassembler
from faceplate.cluster.listener import Listener
from faceplate.cluster.notifier import Notifier
from tests.cluster.conftest import Recorder
from tests.support.pgserver import RestartablePostgres, terminate_backends


class Inbox:
    """A listener on `channels` that puts messages back together, as an instance would."""

    def __init__(self, dsn: str, *channels: str) -> None:
        self.recorder = Recorder()
        self.assembler = Reassembler()
        self.messages: list[tuple[str, Message]] = []
        self.listener = Listener(
            dsn, channels, self._notify, self.recorder.lost, self.recorder.restored
        )

    def _notify(self, channel: str, payload: str) -> None:
        message = self.assembler.feed(payload)
        if message is not None:
            self.messages.append((channel, message))
        self.recorder.notify(channel, payload)

    def bodies(self, channel: str | None = None) -> list[bytes]:
        return [m.body for c, m in self.messages if channel is None or c == channel]

    async def until(self, count: int) -> None:
        await self.recorder.until(lambda: len(self.messages) >= count)


@pytest.fixture
async def inbox(database_url: str) -> AsyncIterator[Inbox]:
    box = Inbox(database_url, "frames", "control")
    await box.listener.start()
    try:
        yield box
    finally:
        await box.listener.stop()


@pytest.fixture
async def notifier(database_url: str) -> AsyncIterator[Notifier]:
    sender = Notifier(database_url, "instance-a", application_name="faceplate test notifier")
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


async def test_messages_arrive_whole_and_in_send_order(inbox: Inbox, notifier: Notifier) -> None:
    rng = random.Random(5)
    sent = [(rng.choice(["frames", "control"]), rng.randbytes(1) * rng.choice([1, 9000, 100_000]))]
    sent += [("frames", f'{{"seq": {n}, "delta": "é\\n😀"}}'.encode()) for n in range(50)]
    sent += [("control", b"\xff\x00binary")]
    for channel, body in sent:
        notifier.send(channel, body)
    await notifier.flush()
    await inbox.until(len(sent))
    assert [(c, m.body) for c, m in inbox.messages] == sent
    assert {m.sender for _, m in inbox.messages} == {"instance-a"}


async def test_what_waits_goes_in_one_commit(inbox: Inbox, notifier: Notifier) -> None:
    for n in range(200):
        notifier.send("frames", b"%d" % n)
    await notifier.flush()
    assert (notifier.stats.messages, notifier.stats.notifications) == (200, 200)
    assert notifier.stats.commits == 1
    await inbox.until(200)
    assert inbox.bodies() == [b"%d" % n for n in range(200)]


async def test_a_batch_is_bounded(database_url: str, inbox: Inbox) -> None:
    sender = Notifier(database_url, "bounded", max_batch=100)
    await sender.start()
    try:
        for n in range(250):
            sender.send("frames", b"%d" % n)
        await sender.flush()
        assert sender.stats.commits == 3
    finally:
        await sender.stop()
    await inbox.until(250)
    assert inbox.bodies() == [b"%d" % n for n in range(250)]


async def test_a_large_message_commits_once(inbox: Inbox, notifier: Notifier) -> None:
    notifier.send("frames", b"x" * 1_000_000)
    await notifier.flush()
    assert notifier.stats.commits == 1 and notifier.stats.notifications > 100
    await inbox.until(1)
    assert inbox.bodies() == [b"x" * 1_000_000]


async def test_a_lost_connection_is_replaced_and_order_kept(
    database_url: str, inbox: Inbox, notifier: Notifier
) -> None:
    notifier.send("frames", b"first")
    await notifier.flush()
    assert terminate_backends(database_url, "faceplate test notifier") == 1
    for n in range(20):
        notifier.send("frames", b"%d" % n)
    await notifier.flush()
    await inbox.until(21)
    assert inbox.bodies() == [b"first"] + [b"%d" % n for n in range(20)]
    assert notifier.stats.failures >= 1


async def test_sending_waits_out_a_postgresql_restart(restartable_pg: RestartablePostgres) -> None:
    sender = Notifier(restartable_pg.url, "restarted")
    await sender.start()
    try:
        await asyncio.to_thread(restartable_pg.stop)
        sender.send("frames", b"while away")
        await asyncio.sleep(0)  # the batch is tried and fails: the sender waits and tries again
        await asyncio.to_thread(restartable_pg.start)
        box = Inbox(restartable_pg.url, "frames")
        await box.listener.start()
        try:
            sender.send("frames", b"after")
            await sender.flush()
            await box.recorder.until(lambda: b"after" in box.bodies())
            # "while away" went to nobody if it committed before this listener began.
            assert box.bodies() in ([b"after"], [b"while away", b"after"])
        finally:
            await box.listener.stop()
        assert sender.stats.messages == 2 and sender.stats.failures >= 1
    finally:
        await sender.stop()


async def test_a_payload_the_database_refuses_is_dropped_and_reported(
    database_url: str, inbox: Inbox
) -> None:
    dropped: list[int] = []
    # A limit above PostgreSQL's own: the statement is refused for what it is, not retried.
    sender = Notifier(database_url, "careless", payload_limit=9000, on_dropped=dropped.append)
    await sender.start()
    try:
        sender.send("frames", b"y" * 8500)
        await sender.flush()
        sender.send("frames", b"next")
        await sender.flush()
    finally:
        await sender.stop()
    assert dropped == [1] and sender.stats.dropped == 1
    await inbox.until(1)
    assert inbox.bodies() == [b"next"]


async def test_too_much_waiting_drops_new_messages(database_url: str) -> None:
    dropped: list[int] = []
    sender = Notifier(database_url, "flooded", max_queued_bytes=1000, on_dropped=dropped.append)
    for _ in range(5):
        sender.send("frames", b"z" * 400)  # not started: everything waits
    assert sender.queued == 2 and dropped == [1, 1, 1]
    await sender.start()
    try:
        await sender.flush()
    finally:
        await sender.stop()
    assert (sender.stats.messages, sender.stats.dropped) == (2, 3)


async def test_misuse_is_refused(database_url: str) -> None:
    sender = Notifier(database_url, "misused")
    with pytest.raises(ValueError, match="channel"):
        sender.send("c" * 64, b"x")
    with pytest.raises(ValueError, match="channel"):
        sender.send("", b"x")
    sender.send("frames", b"x")
    with pytest.raises(RuntimeError, match="not started"):
        await sender.flush()
    await sender.stop()  # never started: nothing to do
    await sender.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            await sender.start()
    finally:
        await sender.stop()
