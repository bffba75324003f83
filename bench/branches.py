"""Branch queries on a big tree: a 10,000-message conversation with 50 branches.

    uv run python -m bench.branches [--database-url URL] [--rounds N]

Measures, side by side on one database, the branch queries the service runs (the first and a
later page of the active branch, the model's history, a switch of branch, the sibling lists)
against a floor: the same page read from a straight chain by the keyset on
(conversation_id, created_at, id) that a conversation without branches would need. Prints
each query's median and p95 in milliseconds and its ratio to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from psycopg import sql
from uuid6 import uuid7

from faceplate import migrate
from faceplate.db import Conn, Database, open_database
from faceplate.queries import conversations as cq
from faceplate.queries import messages as mq
from faceplate.queries import users as uq

MESSAGES: Final = 10_000
BRANCHES: Final = 50
BRANCH_LENGTH: Final = 100  # the main line has MESSAGES - BRANCHES * BRANCH_LENGTH
PAGE: Final = 50
_FLOOR: Final = (
    "SELECT m.id, m.conversation_id, m.role, m.content, m.created_at"
    " FROM faceplate.messages AS m"
    " WHERE m.conversation_id = $1 AND (m.created_at, m.id) > ($2, $3)"
    " ORDER BY m.created_at, m.id LIMIT $4"
)


@dataclass(frozen=True)
class Tree:
    user_id: UUID
    conversation_id: UUID
    main_leaf: UUID
    root: UUID
    fork: UUID  # a message on the main line where a branch starts
    chain_id: UUID  # a conversation of the same size without branches (the floor's)


async def _seed(db: Database) -> Tree:
    """The main line, then 50 side branches forking at even depths, each 100 long."""
    async with db.connection() as conn:
        user = await uq.upsert_user(conn, id=uuid7(), subject_id="bench", email="b@example.com")
        conv = await cq.create_conversation(conn, id=uuid7(), user_id=user.id, title="tree")
        chain = await cq.create_conversation(conn, id=uuid7(), user_id=user.id, title="chain")
        ids: list[UUID] = []
        parents: list[UUID | None] = []
        depths: list[int] = []
        main = MESSAGES - BRANCHES * BRANCH_LENGTH
        for n in range(main):
            ids.append(uuid7())
            parents.append(ids[-2] if n else None)
            depths.append(n)
        forks = [ids[(k + 1) * main // (BRANCHES + 1)] for k in range(BRANCHES)]
        for fork in forks:
            parent, depth = fork, ids.index(fork)
            for _ in range(BRANCH_LENGTH):
                ids.append(uuid7())
                parents.append(parent)
                depth += 1
                depths.append(depth)
                parent = ids[-1]
        await _insert(conn, conv.id, ids, parents, depths)
        chain_ids = [uuid7() for _ in range(MESSAGES)]
        await _insert(conn, chain.id, chain_ids, [None, *chain_ids[:-1]], list(range(MESSAGES)))
        await conn.execute(
            "UPDATE faceplate.conversations SET active_message_id = $2 WHERE id = $1",
            conv.id,
            ids[main - 1],
        )
        await conn.execute("VACUUM ANALYZE faceplate.messages")
    return Tree(user.id, conv.id, ids[main - 1], ids[0], forks[BRANCHES // 2], chain.id)


async def _insert(
    conn: Conn,
    conversation_id: UUID,
    ids: Sequence[UUID],
    parents: Sequence[UUID | None],
    depths: Sequence[int],
) -> None:
    roles = ["user" if d % 2 == 0 else "assistant" for d in depths]
    # As create_message sets it: the nearest ancestor at a depth that is a multiple of 64.
    depth_of = dict(zip(ids, depths, strict=True))
    jump_of: dict[UUID, UUID | None] = {}
    for message_id, parent in zip(ids, parents, strict=True):
        jump_of[message_id] = (
            None if parent is None else parent if depth_of[parent] % 64 == 0 else jump_of[parent]
        )
    await conn.execute(
        "INSERT INTO faceplate.messages (id, conversation_id, parent_id, depth, jump_id, role,"
        " content, finish_reason, created_at)"
        " SELECT i, $1, p, d, j, r, 'message text of a typical length, some sixty bytes or so',"
        " CASE WHEN r = 'assistant' THEN 'stop' END,"
        " '2026-01-01'::timestamptz + n * interval '1 second'"
        " FROM unnest($2::uuid[], $3::uuid[], $4::int4[], $5::uuid[], $6::varchar[])"
        " WITH ORDINALITY AS x (i, p, d, j, r, n)",
        conversation_id,
        ids,
        parents,
        depths,
        [jump_of[i] for i in ids],
        roles,
    )


async def _time(db: Database, rounds: int, run: Callable[[Conn], Awaitable[object]]) -> list[float]:
    times: list[float] = []
    async with db.connection() as conn:
        for _ in range(rounds):
            start = time.perf_counter()
            await run(conn)
            times.append((time.perf_counter() - start) * 1000)
    return times


async def measure(url: str, rounds: int) -> list[tuple[str, float, float]]:
    """(name, median ms, p95 ms) per query, the floor first."""
    db = await open_database(url, min_size=1, max_size=2, timeout_s=10)
    try:
        t = await _seed(db)
        async with db.connection() as conn:
            mid = await conn.fetchrow(
                "SELECT created_at, id FROM faceplate.messages WHERE conversation_id = $1"
                " ORDER BY created_at, id OFFSET $2 LIMIT 1",
                t.chain_id,
                MESSAGES // 2,
            )
        assert mid is not None
        u, c = t.user_id, t.conversation_id
        runs: dict[str, Callable[[Conn], Awaitable[object]]] = {
            "floor: a keyset page of a chain": lambda k: k.fetch(
                _FLOOR, t.chain_id, mid["created_at"], mid["id"], PAGE + 1
            ),
            "first page of the active branch": lambda k: mq.list_messages(
                k, user_id=u, conversation_id=c, after_depth=None, limit=PAGE + 1
            ),
            "a page half way down it": lambda k: mq.list_messages(
                k, user_id=u, conversation_id=c, after_depth=2500, limit=PAGE + 1
            ),
            "the model's history (whole branch)": lambda k: mq.list_history(
                k, user_id=u, conversation_id=c, leaf_id=None
            ),
            "switch to the newest leaf under a fork": lambda k: cq.update_active_message(
                k, user_id=u, conversation_id=c, message_id=t.fork
            ),
            "switch back to the main leaf": lambda k: cq.update_active_message(
                k, user_id=u, conversation_id=c, message_id=t.main_leaf
            ),
        }
        results: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(3):  # interleaved, so drift falls on every query alike
            for name, run in runs.items():
                results[name] += await _time(db, rounds, run)
        return [
            (name, statistics.median(ms), statistics.quantiles(ms, n=20)[-1])
            for name, ms in results.items()
        ]
    finally:
        await db.close()


def _scratch(server_url: str) -> tuple[str, Callable[[], None]]:
    name = f"faceplate_branches_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))

    def drop() -> None:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a server whose role may CREATE DATABASE")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-branches-") as tmp:
        server = args.database_url
        if server is None:
            from faceplate.embedded import start_embedded

            server = start_embedded(Path(tmp), cleanup="delete")
        url, drop = _scratch(server)
        try:
            migrate.apply(url)
            rows = asyncio.run(measure(url, args.rounds))
        finally:
            drop()
    floor = rows[0][1]
    print(f"{MESSAGES:,} messages, {BRANCHES} branches of {BRANCH_LENGTH}; page of {PAGE}")
    print(f"{'query':42} {'p50 ms':>8} {'p95 ms':>8} {'÷ floor':>8}")
    for name, p50, p95 in rows:
        print(f"{name:42} {p50:8.2f} {p95:8.2f} {p50 / floor:8.1f}")


if __name__ == "__main__":
    main()
