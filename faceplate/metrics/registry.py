"""Every metric of the service, in one registry per app, and `/metrics`' text.

prometheus_client keeps the values: in this process's memory, or, when
`PROMETHEUS_MULTIPROC_DIR` is set (`faceplate serve --workers N` sets it), in one memory-mapped
file per worker, which every worker's scrape merges, so one scrape shows the whole server.

Label values come only from closed sets (route templates, statuses, outcome and error codes,
finish reasons), never from a request's path, a user, a tool's name or its arguments: series
stay few whoever calls the service.

The hot paths (every HTTP request, every pool acquire) do not call prometheus_client: its
`observe` takes a lock or two and, with several workers, writes a memory-mapped file, several µs
a request. They count into a `Tally` (a bisect and two additions), moved into prometheus_client
at each scrape and, with several workers, every second. Turns, tool calls and sockets are rare
enough to go to prometheus_client directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Final, cast

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from faceplate.db import PoolSample

# No `_created` series: a scraper sees resets by itself, and they would double the text.
cast(Callable[[], None], disable_created_metrics)()

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED: Final = "unmatched"
"""The route label of a request no route took (a 404 of an unknown path, a slash redirect)."""
OTHER: Final = "other"

_METHODS: Final = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_TURN_STATUSES: Final = frozenset(("completed", "cancelled", "failed"))
_TURN_CODES: Final = frozenset(
    (
        "upstream_error",
        "context_too_long",
        "unavailable",
        "internal_error",
        "interrupted",
        "not_found",
        "rate_limited",
    )
)
_FINISHES: Final = frozenset(("stop", "tool_calls", "length", "cancelled", "error", "interrupted"))
TOOL_OUTCOMES: Final = frozenset(("ok", "error", "timeout", "refused", "failed", "cancelled"))
_ACQUIRE_FAILURES: Final = frozenset(("exhausted", "unreachable"))

_HTTP_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_ACQUIRE_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30)
_FIRST_TEXT_BUCKETS: Final = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
_TURN_BUCKETS: Final = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_TOOL_BUCKETS: Final = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_LAG_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)

# Typed views of prometheus_client's untyped multiprocess helpers.
_merge: Final = cast(Callable[[CollectorRegistry, str], object], multiprocess.MultiProcessCollector)
_mark_dead: Final = cast(Callable[[int, str], None], multiprocess.mark_process_dead)

_LIVE_FILE: Final = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def _within(value: str, known: frozenset[str]) -> str:
    return value if value in known else OTHER


class Tally:
    """The observations of one histogram series, kept as plain numbers until `flush` adds them
    to its prometheus_client child. Everything runs on the event loop's thread: no lock."""

    __slots__ = ("_bounds", "_child", "_counts", "_sum")

    def __init__(self, child: Histogram, bounds: Sequence[float]) -> None:
        self._child = child
        self._bounds = tuple(float(b) for b in bounds)  # +Inf is the slot past the last
        self._counts = [0] * (len(self._bounds) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        # Bucket `le` holds values <= its bound: the first bound >= value.
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum += value

    def flush(self) -> None:
        """Add what was observed since the last flush to the child, as its own observe would:
        one count in the bucket of each value (prometheus_client keeps them per bucket and adds
        them up when collected) and the values' sum."""
        counts = self._counts
        if not any(counts):
            return
        buckets = self._child._buckets
        for index, count in enumerate(counts):
            if count:
                buckets[index].inc(count)
                counts[index] = 0
        self._child._sum.inc(self._sum)
        self._sum = 0.0


class Metrics:
    """The service's metrics; `render()` is the text `/metrics` answers.

    `pool` reads the pool's state when a scrape (or the sampler) asks; None while the pool is
    not open.
    """

    def __init__(
        self,
        *,
        pool: Callable[[], PoolSample | None] = lambda: None,
        multiprocess_dir: str | None = None,
    ) -> None:
        self._pool = pool
        self.multiprocess_dir = multiprocess_dir
        r = self.registry = CollectorRegistry(auto_describe=True)
        if multiprocess_dir is None:  # per-process figures do not add up across workers
            ProcessCollector(registry=r)
        self._http_seconds = Histogram(
            "faceplate_http_request_duration_seconds",
            "HTTP requests by method, route template and status: from the request's arrival "
            "to the last byte of its response; _count is the number of requests",
            ("method", "route", "status"),
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self._sockets = Gauge(
            "faceplate_websockets_open",
            "WebSocket connections being served",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._pool_size = Gauge(
            "faceplate_db_pool_size",
            "connections the pool holds, idle or in use",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._pool_in_use = Gauge(
            "faceplate_db_pool_in_use",
            "connections handed out now",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._pool_max = Gauge(
            "faceplate_db_pool_max",
            "connections the pool may hold at most (FACEPLATE_DB_POOL_MAX)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._pool_waiting = Gauge(
            "faceplate_db_pool_waiting",
            "callers waiting for a connection to be handed to them now",
            registry=r,
            multiprocess_mode="livesum",
        )
        acquire_seconds = Histogram(
            "faceplate_db_pool_acquire_seconds",
            "time to be handed a pooled connection, its ping included",
            buckets=_ACQUIRE_BUCKETS,
            registry=r,
        )
        self._acquire = Tally(acquire_seconds, _ACQUIRE_BUCKETS)
        self._tallies: list[Tally] = [self._acquire]
        self._acquire_failures = Counter(
            "faceplate_db_pool_acquire_failures",
            "acquires that gave up: 'exhausted' (FACEPLATE_DB_POOL_TIMEOUT_S passed) or "
            "'unreachable' (the database did not answer)",
            ("reason",),
            registry=r,
        )
        self._turns_started = Counter(
            "faceplate_turns_started", "turns started (user_message accepted)", registry=r
        )
        self._turns_ended = Counter(
            "faceplate_turns_ended",
            "turns ended, by status and, when failed, the error code",
            ("status", "code"),
            registry=r,
        )
        self._turns_active = Gauge(
            "faceplate_turns_active",
            "turns running now",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._turn_seconds = Histogram(
            "faceplate_turn_duration_seconds",
            "turns from user_message to turn_end, by status",
            ("status",),
            buckets=_TURN_BUCKETS,
            registry=r,
        )
        self._first_text = Histogram(
            "faceplate_turn_first_text_seconds",
            "from user_message to the first text the model streamed (turns that streamed any)",
            buckets=_FIRST_TEXT_BUCKETS,
            registry=r,
        )
        self._steps = Counter(
            "faceplate_model_steps",
            "model steps (one model request each), by how the step finished",
            ("finish",),
            registry=r,
        )
        self._model_errors = Counter(
            "faceplate_model_errors",
            "model requests that failed, by the error code the turn ended with",
            ("code",),
            registry=r,
        )
        self._tool_seconds = Histogram(
            "faceplate_tool_call_duration_seconds",
            "tool calls by outcome, from the call to its result; _count is the number of calls",
            ("outcome",),
            buckets=_TOOL_BUCKETS,
            registry=r,
        )
        self._notify_lag = Histogram(
            "faceplate_notify_lag_seconds",
            "cross-instance notifications: from NOTIFY on one instance to its delivery on another",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self._http: dict[tuple[str, str, int], Tally] = {}
        self._codes: dict[tuple[str, str], Counter] = {}
        self._outcomes: dict[str, Histogram] = {}

    # --- HTTP and sockets (every request) -----------------------------------------------------

    def http(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request; `route` is its template, or UNMATCHED."""
        key = (method, route, status)
        tally = self._http.get(key)
        if tally is None:
            tally = self._http_tally(method, route, status)
        tally.observe(seconds)

    def _http_tally(self, method: str, route: str, status: int) -> Tally:
        label = method if method in _METHODS else OTHER
        # Methods outside the known set share one series: kept under the label, not the method.
        key = (label, route, status)
        tally = self._http.get(key)
        if tally is None:
            child = self._http_seconds.labels(label, route, str(status))
            tally = self._http[key] = Tally(child, _HTTP_BUCKETS)
            self._tallies.append(tally)
        return tally

    def socket_opened(self) -> None:
        self._sockets.inc()

    def socket_closed(self) -> None:
        self._sockets.dec()

    # --- the pool ---------------------------------------------------------------------------

    def acquired(self, seconds: float) -> None:
        """A connection was handed out after `seconds`."""
        self._acquire.observe(seconds)

    def acquire_failed(self, reason: str) -> None:
        self._acquire_failures.labels(_within(reason, _ACQUIRE_FAILURES)).inc()

    def sample(self) -> None:
        """Move the hot paths' tallies into prometheus_client, and read the pool's gauges."""
        for tally in self._tallies:
            tally.flush()
        pool = self._pool()
        if pool is None:
            size = idle = max_size = waiting = 0
        else:
            size, idle, max_size, waiting = pool
        self._pool_size.set(size)
        self._pool_in_use.set(size - idle)
        self._pool_max.set(max_size)
        self._pool_waiting.set(waiting)

    # --- turns ------------------------------------------------------------------------------

    def turn_started(self) -> TurnWatch:
        """A turn began (its user_message was accepted): what it does next goes to its watch."""
        self._turns_started.inc()
        self._turns_active.inc()
        return TurnWatch(self)

    def _turn_ended(self, status: str, code: str | None, seconds: float) -> None:
        status = _within(status, _TURN_STATUSES)
        label = "" if code is None else _within(code, _TURN_CODES)
        key = (status, label)
        counter = self._codes.get(key)
        if counter is None:
            counter = self._codes[key] = self._turns_ended.labels(status, label)
        counter.inc()
        self._turns_active.dec()
        self._turn_seconds.labels(status).observe(seconds)

    def _tool(self, outcome: str, seconds: float) -> None:
        child = self._outcomes.get(outcome)
        if child is None:
            label = _within(outcome, TOOL_OUTCOMES)
            child = self._tool_seconds.labels(label)
            if label == outcome:
                self._outcomes[outcome] = child
        child.observe(seconds)

    # --- across instances -------------------------------------------------------------------

    def notify_lag(self, seconds: float) -> None:
        """A notification from another instance arrived `seconds` after it was sent."""
        self._notify_lag.observe(max(seconds, 0.0))

    # --- the scrape -------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text of every metric: this process's, or every worker's."""
        self.sample()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        forget_dead_workers(self.multiprocess_dir)
        merged = CollectorRegistry()
        _merge(merged, self.multiprocess_dir)
        return generate_latest(merged)

    async def sample_every(self, seconds: float) -> None:
        """With several workers, a scrape reaches one of them: each writes its pool's gauges
        this often, for whichever answers (cancel to stop)."""
        while True:
            self.sample()
            await asyncio.sleep(seconds)

    def close(self) -> None:
        """This process stops: its live gauges leave the sums (its counters stay)."""
        if self.multiprocess_dir is not None:
            _mark_dead(os.getpid(), self.multiprocess_dir)


class TurnWatch:
    """What one turn reports (the turn engine's observer seam, `turns/observer.py`)."""

    __slots__ = ("_ended", "_metrics", "_started", "_texted")

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._started = time.perf_counter()
        self._texted = False
        self._ended = False

    def text(self) -> None:
        """The model streamed text; the first time, the time to first text is taken."""
        if not self._texted:
            self._texted = True
            self._metrics._first_text.observe(time.perf_counter() - self._started)

    def step_finished(self, finish: str) -> None:
        self._metrics._steps.labels(_within(finish, _FINISHES)).inc()

    def tool_result(self, outcome: str, seconds: float) -> None:
        self._metrics._tool(outcome, seconds)

    def model_error(self, code: str) -> None:
        self._metrics._model_errors.labels(_within(code, _TURN_CODES)).inc()

    def ended(self, status: str, code: str | None) -> None:
        """turn_end was sent; later calls do nothing."""
        if not self._ended:
            self._ended = True
            self._metrics._turn_ended(status, code, time.perf_counter() - self._started)


def forget_dead_workers(directory: str) -> None:
    """Drop the live gauges of workers that died without saying so (SIGKILL, OOM): a restarted
    worker's pool and sockets must not count twice."""
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        found = _LIVE_FILE.fullmatch(os.path.basename(path))
        if found is None:
            continue
        pid = int(found.group(1))
        if not _alive(pid):
            with contextlib.suppress(FileNotFoundError):
                _mark_dead(pid, directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
