"""The pool as the metrics see it: acquire times, callers waiting, failures, its size."""

from __future__ import annotations

import asyncio

import pytest

from faceplate.db import open_database
from faceplate.errors import Unavailable
from faceplate.metrics import Metrics
from tests.integration.metrics_scrape import parse, value


async def test_waiting_callers_and_an_exhausted_pool_are_counted(database_url: str) -> None:
    db = await open_database(database_url, min_size=1, max_size=1, timeout_s=0.5)
    metrics = Metrics(pool=db.sample)
    db.observer = metrics
    try:
        held = await db.acquire()
        waiter = asyncio.create_task(db.acquire())
        await asyncio.sleep(0.1)
        while_waiting = parse(metrics.render().decode())
        with pytest.raises(Unavailable, match="exhausted"):
            await waiter
        await db.release(held)
        async with db.connection():
            in_use = parse(metrics.render().decode())
        after = parse(metrics.render().decode())
    finally:
        await db.close()

    assert value(while_waiting, "faceplate_db_pool_waiting") == 1
    assert value(while_waiting, "faceplate_db_pool_in_use") == 1
    assert value(while_waiting, "faceplate_db_pool_max") == 1
    assert value(in_use, "faceplate_db_pool_in_use") == 1
    assert value(after, "faceplate_db_pool_in_use") == 0
    assert value(after, "faceplate_db_pool_waiting") == 0
    assert value(after, "faceplate_db_pool_size") == 1
    assert value(after, "faceplate_db_pool_acquire_failures_total", reason="exhausted") == 1
    assert value(after, "faceplate_db_pool_acquire_seconds_count") == 2  # the two that got one


async def test_a_pool_not_open_reads_as_empty() -> None:
    metrics = Metrics(pool=lambda: None)

    samples = parse(metrics.render().decode())

    assert value(samples, "faceplate_db_pool_size") == 0
    assert value(samples, "faceplate_db_pool_max") == 0


def test_notification_lag_is_observed_through_its_seam() -> None:
    metrics = Metrics()

    metrics.notify_lag(0.003)
    metrics.notify_lag(-0.5)  # clocks of two hosts: a negative lag counts as none
    samples = parse(metrics.render().decode())

    assert value(samples, "faceplate_notify_lag_seconds_count") == 2
    assert value(samples, "faceplate_notify_lag_seconds_bucket", le="0.001") == 1
    assert value(samples, "faceplate_notify_lag_seconds_bucket", le="0.005") == 2
