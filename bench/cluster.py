"""Several instances: the relay to a socket on another instance against the same instance.

    uv run python -m bench.cluster [--deltas 2000] [--turns 50] [--rate 20] [--database-url URL]

Two service processes (A and B) on one fresh database, the scripted model (bench.model) in a
third. Measured side by side in one run, each the median of `--rounds`:

- `same`: a turn on A, its socket on A, as fast as the model streams (deltas/s at the client);
- `cross`: the same turn started from a socket on A, read by a socket on B (its frames cross
  instances through PostgreSQL LISTEN/NOTIFY); target cross ÷ same ≥ 0.8;
- `previous`: the `same` turn on a third process serving the design before several instances
  (bench.previous: the one-process `LocalFanout`), nobody watching elsewhere on either; target
  same ÷ previous ≥ 0.95 (what the new machinery costs one instance);
- `paced`: `--turns` turns at once at `--rate` deltas/s each, started on A and watched from B:
  the p99 delay from the model writing a delta to B's client reading it; target < 50 ms;
- per turn, counted: notifications (a listener on every channel of both instances) and the
  database's commits and rows written (pg_stat_database, pg_stat_user_tables), for a turn
  watched from B and one watched only on A: bounded by frames, not by the model's deltas.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from bench import pg
from bench.loadgen import percentile
from bench.seed import Seeded, create_conversations, seed
from bench.servers import HOST, Server, bench_env, model_server, uvicorn_server
from bench.ws import _ENC, _open, _read_turn, _Turn, ask
from faceplate.secrets import load_or_create_key

_CHANNELS = ("faceplate", "faceplate:bench-a", "faceplate:bench-b")


class Relay(msgspec.Struct, frozen=True):
    mode: str
    turns: int
    deltas: int
    seconds: float
    deltas_per_s: float
    p50_delay_ms: float
    p99_delay_ms: float
    failures: list[str]


class Counts(msgspec.Struct, frozen=True):
    watched_from: str
    model_deltas: int
    frames: int
    notifications: int
    commits: int
    rows_written: int


def _url(server: Server) -> Callable[[UUID], str]:
    return lambda cid: f"ws://{HOST}:{server.port}/v1/conversations/{cid}/ws"


async def relay(
    sender: Server,
    reader: Server,
    token: str,
    conversation_ids: Sequence[UUID],
    *,
    mode: str,
    deltas: int,
    rate: float,
) -> Relay:
    """One turn per conversation, all at once, sent on `sender`, measured on `reader`."""
    readers = await asyncio.gather(*(_open(_url(reader)(c), token) for c in conversation_ids))
    senders = (
        readers
        if sender is reader
        else await asyncio.gather(*(_open(_url(sender)(c), token) for c in conversation_ids))
    )
    turns = [_Turn() for _ in readers]
    drains = [_Turn() for _ in senders] if senders is not readers else []
    message = _ENC.encode({"type": "user_message", "content": ask(deltas, rate)}).decode()
    try:
        tasks = [
            asyncio.create_task(_read_turn(ws, t)) for ws, t in zip(readers, turns, strict=True)
        ]
        if drains:  # the sender's own sockets get the frames too: read them, unmeasured
            tasks += [
                asyncio.create_task(_read_turn(ws, t))
                for ws, t in zip(senders, drains, strict=True)
            ]
        start = time.monotonic_ns()
        await asyncio.gather(*(ws.send(message) for ws in senders))
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
    finally:
        await asyncio.gather(*(ws.close() for ws in {*readers, *senders}), return_exceptions=True)
    end = max(t.end_ns for t in turns) or time.monotonic_ns()
    seconds = max(end - start, 1) / 1e9
    delays = sorted(d for t in turns for d in t.delays_ns)
    failures = [t.failure for t in turns if t.failure]
    if len(delays) < len(turns) * deltas:
        failures.append(f"{len(turns) * deltas - len(delays)} deltas lost")
    return Relay(
        mode=mode,
        turns=len(turns),
        deltas=len(delays),
        seconds=seconds,
        deltas_per_s=len(delays) / seconds,
        p50_delay_ms=percentile(delays, 50) / 1e6 if delays else 0.0,
        p99_delay_ms=percentile(delays, 99) / 1e6 if delays else 0.0,
        failures=failures,
    )


async def _stats(conn: asyncpg.Connection) -> tuple[int, int]:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    commits = await conn.fetchval(
        "SELECT d.xact_commit FROM pg_stat_database AS d WHERE d.datname = current_database()"
    )
    rows = await conn.fetchval(
        "SELECT coalesce(sum(t.n_tup_ins + t.n_tup_upd + t.n_tup_del), 0) "
        "FROM pg_stat_user_tables AS t WHERE t.schemaname = 'faceplate'"
    )
    return int(commits), int(rows)


async def counts(
    db_url: str, a: Server, watcher: Server, token: str, conversation_id: UUID, deltas: int
) -> Counts:
    """Notifications, commits and rows written by one turn started on A, read on `watcher`."""
    heard: list[str] = []
    listener = await asyncpg.connect(db_url)
    stats = await asyncpg.connect(db_url)
    try:
        for channel in _CHANNELS:
            await listener.add_listener(channel, lambda *args: heard.append(args[2]))
        await asyncio.sleep(1.2)  # other sessions' statistics reach the views within a second
        before = await _stats(stats)
        ws = await _open(_url(watcher)(conversation_id), token)
        sender = ws if watcher is a else await _open(_url(a)(conversation_id), token)
        turn, drain = _Turn(), _Turn()
        tasks = [asyncio.create_task(_read_turn(ws, turn))]
        if sender is not ws:
            tasks.append(asyncio.create_task(_read_turn(sender, drain)))
        await sender.send(_ENC.encode({"type": "user_message", "content": ask(deltas, 0)}).decode())
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
        await asyncio.gather(ws.close(), sender.close())
        await asyncio.sleep(1.2)
        after = await _stats(stats)
    finally:
        await listener.close()
        await stats.close()
    return Counts(
        watched_from="another instance" if watcher is not a else "the same instance only",
        model_deltas=deltas,
        frames=turn.frames,
        notifications=len(heard),
        commits=after[0] - before[0],
        rows_written=after[1] - before[1],
    )


@contextmanager
def _instances(db_url: str, data_dir: Path, model_url: str, logdir: Path) -> Iterator[list[Server]]:
    """Instances A and B of the service, and P: the same app with the previous fan-out."""
    env = bench_env(db_url, data_dir, model_url)
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                uvicorn_server(
                    f"instance-{name}",
                    app,
                    env={**env, "FACEPLATE_INSTANCE_ID": f"bench-{name}"},
                    cpu=None,
                    logdir=logdir,
                    ready_path=None,
                )
            )
            for name, app in (
                ("a", "faceplate.app:app"),
                ("b", "faceplate.app:app"),
                ("p", "bench.previous:app"),
            )
        ]
        for server in servers:
            server.wait_ready("/readyz", timeout_s=180)  # three imports at once, a busy machine
        yield servers


async def run(
    args: argparse.Namespace, db_url: str, seeded: Seeded, a: Server, b: Server, p: Server
) -> Any:
    token = seeded.token
    ids = await create_conversations(db_url, seeded.user_id, args.turns + 5)
    runs: dict[str, list[Relay]] = {"same": [], "cross": [], "previous": []}
    # (mode, where the turn starts, where it is read, its conversation: one each, so that every
    # mode's context grows alike)
    plan = [("same", a, a, ids[0]), ("cross", a, b, ids[2]), ("previous", p, p, ids[3])]
    for n in range(args.rounds):  # rotate the order: drift falls on every side
        for mode, sender, reader, cid in plan[n % 3 :] + plan[: n % 3]:
            result = await relay(
                sender, reader, token, [cid], mode=mode, deltas=args.deltas, rate=0
            )
            runs[mode].append(result)
    same_runs, cross_runs = runs["same"], runs["cross"]
    group = ids[4 : 4 + args.turns]
    paced_same = await relay(
        a, a, token, group, mode="paced-same", deltas=args.paced_deltas, rate=args.rate
    )
    paced = await relay(a, b, token, group, mode="paced", deltas=args.paced_deltas, rate=args.rate)
    count_runs = [
        await counts(db_url, a, b, token, ids[1], args.deltas),
        # A conversation of its own: B's row for ids[1] lasts until its next renewal.
        await counts(db_url, a, a, token, ids[-1], args.deltas),
    ]
    same = statistics.median(r.deltas_per_s for r in same_runs)
    cross = statistics.median(r.deltas_per_s for r in cross_runs)
    previous = statistics.median(r.deltas_per_s for r in runs["previous"])
    return {
        "same": same_runs,
        "cross": cross_runs,
        "previous": runs["previous"],
        "cross_over_same": cross / same,
        "same_over_previous": same / previous,
        "paced": paced,
        "paced_same": paced_same,
        "counts": count_runs,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("--deltas", type=int, default=2000, help="deltas of a full-speed turn")
    # A full-speed turn is a few tens of ms: medians of 3 of them were ±20 % apart run to run.
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--turns", type=int, default=50, help="paced turns at once")
    parser.add_argument("--rate", type=float, default=20.0, help="paced deltas per second")
    parser.add_argument("--paced-deltas", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cluster-")))
        db = stack.enter_context(pg.bench_database(args.database_url, workdir))
        data_dir = workdir / "data"
        seeded = asyncio.run(seed(db.url, data_dir, conversations=1, messages=0))
        load_or_create_key(data_dir)  # once, before three instances would race to create it
        model_url = stack.enter_context(model_server(cpu=None, logdir=workdir))
        a, b, p = stack.enter_context(_instances(db.url, data_dir, model_url, workdir))
        summary = asyncio.run(run(args, db.url, seeded, a, b, p))
    _report(summary)
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(summary)))
    measured = [*summary["same"], *summary["cross"], *summary["previous"], summary["paced"]]
    failures = [f for r in measured for f in r.failures]
    return 1 if failures else 0


def _report(summary: dict[str, Any]) -> None:
    same = statistics.median(r.deltas_per_s for r in summary["same"])
    cross = statistics.median(r.deltas_per_s for r in summary["cross"])
    previous = statistics.median(r.deltas_per_s for r in summary["previous"])
    paced: Relay = summary["paced"]
    alone: Relay = summary["paced_same"]
    print(f"relay, same instance:   {same:10.0f} deltas/s")
    print(
        f"relay, other instance:  {cross:10.0f} deltas/s   ratio {cross / same:.2f} (target >= 0.8)"
    )
    print(
        f"relay, previous design: {previous:10.0f} deltas/s   same ÷ previous"
        f" {same / previous:.2f} (target >= 0.95; one instance, nobody watching elsewhere)"
    )
    print(
        f"paced, {paced.turns} turns watched from another instance:"
        f" p50 {paced.p50_delay_ms:.1f} ms, p99 {paced.p99_delay_ms:.1f} ms (target < 50 ms)"
    )
    print(
        f"paced, the same turns watched on their own instance:"
        f" p50 {alone.p50_delay_ms:.1f} ms, p99 {alone.p99_delay_ms:.1f} ms"
    )
    for c in summary["counts"]:
        print(
            f"one turn of {c.model_deltas} model deltas, watched from {c.watched_from}: "
            f"{c.frames} frames, {c.notifications} notifications, {c.commits} commits, "
            f"{c.rows_written} rows written"
        )
    for r in [*summary["same"], *summary["cross"], *summary["previous"], paced, alone]:
        for failure in r.failures:
            print(f"FAILURE ({r.mode}): {failure}")


if __name__ == "__main__":
    raise SystemExit(main())
