"""The app: built from the one route table, with the lifespan that wires the state."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import FrameType

import psycopg
import uvicorn
from starlette.applications import Starlette

from faceplate import migrate
from faceplate.agents.factory import build_model
from faceplate.auth import CognitoVerifier, DevVerifier, KeptVerifier, Verifier
from faceplate.auth.dev import load_or_create_secret
from faceplate.cluster.listener import Listener
from faceplate.cluster.notifier import Notifier
from faceplate.db import Database, lazy_database
from faceplate.embedded import start_embedded
from faceplate.errors import Unavailable
from faceplate.limits import RequestWindows, SocketCounts
from faceplate.logs import set_instance
from faceplate.mcp_client.oauth.flow import OAuthFlow, OAuthSettings
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.runtime import StdioRuntime, stdio_runtime
from faceplate.metrics import Metrics
from faceplate.metrics.registry import MULTIPROC_ENV
from faceplate.relay.fanout import ClusterFanout
from faceplate.routes.table import ROUTES
from faceplate.routes.ws_limits import SocketLimits
from faceplate.secrets import SecretBox, load_or_create_key
from faceplate.services.answers import Answers
from faceplate.services.conversations import Conversations
from faceplate.services.health import Health
from faceplate.services.mcp_configs import McpConfigs
from faceplate.services.mcp_oauth import McpOAuth
from faceplate.services.models import Models
from faceplate.services.turn_requests import TurnRequests
from faceplate.services.usage import Usage
from faceplate.services.users import Users
from faceplate.settings import Settings, load_settings
from faceplate.state import AppState, State
from faceplate.turns.frames import CloseCode
from faceplate.turns.leases import TurnLeases, TurnLimits, new_instance_id
from faceplate.turns.registry import TurnRegistry
from faceplate.turns.runner import TurnConfig
from faceplate.web.failures import EXCEPTION_HANDLERS
from faceplate.web.route_table import RouteTable
from faceplate.web.stack import App

_log = logging.getLogger(__name__)
_SCHEMA_POLL_S = 5.0
_POOL_SAMPLE_S = 1.0
WORKERS_ENV = "FACEPLATE_WORKERS"
"""Set by `serve --workers N` for its workers: several processes share one instance id."""


async def _database_url(settings: Settings) -> str:
    """The configured URL; in dev without one, the embedded server's."""
    if settings.database_url is not None:
        return settings.database_url
    return await asyncio.to_thread(start_embedded, settings.data_dir)


async def _migrate_dev(url: str) -> None:
    """Dev mode brings the schema to head itself; a deploy pipeline does it otherwise."""
    try:
        applied = await asyncio.to_thread(migrate.apply, url)
    except (psycopg.Error, OSError) as e:  # the database is away: the watcher tries again
        _log.warning("migrations not applied yet: %s", type(e).__name__)
        return
    if applied:
        _log.info("migrations applied: %s", ", ".join(applied))


def _verifier(settings: Settings) -> Verifier:
    inner: Verifier
    if settings.auth == "cognito":
        inner = CognitoVerifier(settings.issuer, settings.jwks, settings.cognito_client_ids)
    else:
        inner = DevVerifier(load_or_create_secret(settings.data_dir))
    return KeptVerifier(inner)


async def _become_ready(state: AppState, url: str) -> bool:
    """One try at readiness: dev migrates, cognito only looks; once the schema is at head the
    turn heartbeat starts (it renews this instance's leases and ends dead instances' turns;
    starting touches no other instance's turns)."""
    if state.settings.auth == "dev":
        await _migrate_dev(url)
    with contextlib.suppress(Unavailable):
        if await state.health.schema_at_head():
            state.turns.open()
            state.schema_ready = True
    return state.schema_ready


async def drain(state: AppState, *, fanout: ClusterFanout, notifier: Notifier) -> None:
    """SIGTERM: take no new turn (`unavailable`), let the running ones go on for
    FACEPLATE_SHUTDOWN_GRACE_S, stop the rest (`interrupted`), then close every socket 1012 once
    its queued frames, its turn_end among them, are sent."""
    grace = state.settings.shutdown_grace_s
    _log.info(
        "instance %s stopping: no new turns; running ones get %g s", fanout.instance_id, grace
    )
    await state.turns.drain(grace)
    await state.turns.aclose()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2):
            await notifier.flush()  # the other instances' sockets get their turn_end too
    fanout.local.close_all(CloseCode.RESTARTING)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            while state.socket_counts.total():
                await asyncio.sleep(0.05)


def _drain_on_signals(drain_once: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Under uvicorn (its signal handlers set, in the main thread): SIGTERM and SIGINT first
    drain, then reach uvicorn, which closes what is left and runs the lifespan's shutdown. A
    second signal goes to uvicorn at once. Returns what puts uvicorn's handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    if not all(isinstance(getattr(h, "__self__", None), uvicorn.Server) for h in handlers.values()):
        return lambda: None
    loop = asyncio.get_running_loop()
    draining: list[asyncio.Task[None]] = []

    def handle(sig: int, frame: FrameType | None) -> None:
        uvicorn_handler = handlers[signal.Signals(sig)]
        assert callable(uvicorn_handler)
        if draining:
            uvicorn_handler(sig, frame)
            return

        async def then_exit() -> None:
            try:
                await drain_once()
            finally:
                uvicorn_handler(sig, frame)

        draining.append(loop.create_task(then_exit(), name="drain"))

    for sig in handlers:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    return restore


def _restored() -> None:
    """The listener listens again: sockets that may have missed frames were closed already."""


def instance_id(settings: Settings) -> str:
    """FACEPLATE_INSTANCE_ID, else random; each worker of `serve --workers N` adds its pid."""
    if settings.instance_id is None:
        return new_instance_id()
    if int(os.environ.get(WORKERS_ENV, "1")) > 1:
        return f"{settings.instance_id}-{os.getpid()}"
    return settings.instance_id


async def _watch_schema(state: AppState, url: str) -> None:
    """Until ready (database away, or schema behind in cognito mode), try again every few s."""
    while not state.schema_ready and not await _become_ready(state, url):
        await asyncio.sleep(_SCHEMA_POLL_S)


def _stdio(settings: Settings) -> StdioRuntime | None:
    """The stdio servers and their sandbox; `serve` has refused bad ones with one line."""
    return stdio_runtime(
        settings.mcp_stdio_servers,
        settings.mcp_stdio_sandbox,
        data_dir=settings.data_dir,
        cognito=settings.auth == "cognito",
    )


def _metrics(settings: Settings, db: Database) -> Metrics | None:
    """The metrics when FACEPLATE_METRICS=true: the pool tells them of every acquire. Under
    several workers (PROMETHEUS_MULTIPROC_DIR set by `serve`) they are kept in shared files."""
    if not settings.metrics:
        return None
    if settings.auth == "cognito" and settings.metrics_token is None:
        _log.warning("/metrics answers anyone who reaches it: FACEPLATE_METRICS_TOKEN is unset")
    metrics = Metrics(pool=db.sample, multiprocess_dir=os.environ.get(MULTIPROC_ENV) or None)
    db.observer = metrics
    return metrics


def _sampling(metrics: Metrics | None) -> asyncio.Task[None] | None:
    if metrics is None or metrics.multiprocess_dir is None:
        return None  # one process: its scrape reads the pool itself
    metrics.sample()  # before the first request: a scrape answered elsewhere counts this worker
    return asyncio.create_task(metrics.sample_every(_POOL_SAMPLE_S), name="metrics sampler")


def create_app(settings: Settings | None = None) -> Starlette:
    """The app; settings are read from the environment at start-up when not given."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        s = settings if settings is not None else load_settings()
        url = await _database_url(s)
        db = await lazy_database(
            url, min_size=s.db_pool_min, max_size=s.db_pool_max, timeout_s=s.db_pool_timeout_s
        )
        metrics = _metrics(s, db)
        box = SecretBox(s.secret_keys or load_or_create_key(s.data_dir))
        stdio = await asyncio.to_thread(_stdio, s)
        oauth = OAuthFlow(db, box, OAuthSettings.from_settings(s))
        sessions = McpSessionManager(
            allow_private=s.mcp_allow_private,
            stdio=stdio,
            stdio_max_per_user=s.mcp_stdio_max_per_user,
            stdio_max_total=s.mcp_stdio_max_total,
            oauth=oauth,
            max_result_bytes=s.mcp_max_result_bytes,
            max_tools=s.mcp_max_tools,
        )
        model = build_model(
            s.llm,
            base_url=s.llm_base_url,
            api_key=s.llm_api_key,
            model=s.models[0],
            max_output_tokens=s.llm_max_output_tokens,
        )
        mcp = McpConfigs(
            db,
            box,
            sessions,
            stdio_servers=None if stdio is None else stdio.servers,
            allow_private=s.mcp_allow_private,
            tool_timeout_s=s.tool_timeout_s,
            oauth=oauth,
            max_configs=s.limit_mcp_configs,
            approval_default=s.tool_approval_default,
        )
        models = Models(s.models)
        usage = Usage(db, limit_per_day=s.limit_tokens_per_day)
        instance = instance_id(s)
        set_instance(instance)
        leases = TurnLeases(
            db,
            instance_id=instance,
            lease_s=s.turn_lease_s,
            limits=TurnLimits(
                turns_per_user=s.limit_turns_per_user, turns_per_minute=s.limit_turns_per_minute
            ),
        )
        notifier = Notifier(url, instance)
        fanout = ClusterFanout(
            db,
            notifier,
            instance_id=instance,
            lease_s=s.turn_lease_s,
            on_lag=None if metrics is None else metrics.notify_lag,
        )
        listener = Listener(url, fanout.channels, fanout.on_notify, fanout.lost, _restored)
        turns = TurnRegistry(
            db=db,
            model=model,
            tools=mcp.tool_source,
            config=TurnConfig.from_settings(s),
            fanout=fanout,
            leases=leases,
            shutdown_grace_s=s.shutdown_grace_s,
            observer=metrics,
        )
        _log.info("instance %s starting", instance)
        state = AppState(
            settings=s,
            db=db,
            verifier=_verifier(s),
            users=Users(db),
            conversations=Conversations(db, turns, models),
            mcp_configs=mcp,
            mcp_oauth=McpOAuth(mcp, oauth, sessions, enabled=s.oauth_callback_url is not None),
            oauth=oauth,
            health=Health(db),
            sessions=sessions,
            turns=turns,
            model=model,
            socket_limits=SocketLimits(),
            request_windows=RequestWindows(s.limit_requests_per_minute),
            socket_counts=SocketCounts(s.limit_sockets_per_user),
            metrics=metrics,
            models=models,
            usage=usage,
            answers=Answers(db, turns.decisions, elsewhere=turns.decided),
            turn_requests=TurnRequests(db, usage),
        )
        await notifier.start()
        await listener.start()
        fanout.watches.start()
        if not await _become_ready(state, url):
            _log.warning("not ready: database away or schema behind; retrying")
        watcher = asyncio.create_task(_watch_schema(state, url))
        sampler = _sampling(metrics)
        restore_signals = _drain_on_signals(lambda: drain(state, fanout=fanout, notifier=notifier))
        # What start-up built lives as long as the process: keep it out of every later
        # collection, so a full one scans only what requests made (shorter pauses, lower p99).
        gc.collect()
        gc.freeze()
        try:
            yield {"faceplate": state}
        finally:
            gc.unfreeze()
            restore_signals()
            for task in (watcher, sampler):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await state.turns.aclose()
            await fanout.watches.stop()
            await listener.stop()
            await notifier.stop()
            await model.aclose()
            await sessions.aclose()
            await oauth.aclose()
            await state.verifier.aclose()
            await db.close()
            if metrics is not None:
                metrics.close()

    return App(RouteTable(ROUTES, lifespan=lifespan), exception_handlers=EXCEPTION_HANDLERS)


app = create_app()
