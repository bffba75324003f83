"""Database writes of a turn, counted by statement triggers on the faceplate tables.

The bench's scratch database gets a statement-level trigger on every table a turn can write;
each write statement leaves one row (backend, statement start, transaction, query), so two
tables written by one statement (a CTE) count once. Installed only for this measurement.
"""

from __future__ import annotations

import math
from typing import Final

import asyncpg
import msgspec

from bench.ws import WsRun

_TABLES: Final = ("users", "conversations", "messages", "mcp_configs")
_INSTALL: Final = [
    """CREATE TABLE IF NOT EXISTS public.bench_writes (
        id bigserial PRIMARY KEY,
        pid int NOT NULL,
        stmt_at timestamptz NOT NULL,
        xid text,
        tbl text NOT NULL,
        op text NOT NULL,
        query text NOT NULL)""",
    """CREATE OR REPLACE FUNCTION public.bench_count_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO public.bench_writes (pid, stmt_at, xid, tbl, op, query)
        VALUES (pg_backend_pid(), statement_timestamp(), pg_current_xact_id()::text,
                TG_TABLE_NAME, TG_OP, current_query());
        RETURN NULL;
    END $$""",
    *(
        f"""CREATE OR REPLACE TRIGGER bench_count_write
        AFTER INSERT OR UPDATE OR DELETE ON faceplate.{table}
        FOR EACH STATEMENT EXECUTE FUNCTION public.bench_count_write()"""
        for table in _TABLES
    ),
]
_REMOVE: Final = [
    *(f"DROP TRIGGER IF EXISTS bench_count_write ON faceplate.{table}" for table in _TABLES),
]
_MARK: Final = "SELECT coalesce(max(w.id), 0) FROM public.bench_writes AS w"
_COUNT: Final = """
SELECT coalesce(substring(w.query FROM '-- name: ([a-z_0-9]+)'), left(w.query, 60)) AS name,
       count(DISTINCT (w.pid, w.stmt_at, w.query)) AS statements,
       count(DISTINCT w.xid) AS transactions
FROM public.bench_writes AS w
WHERE w.id > $1
GROUP BY 1
ORDER BY 1"""
_TOTAL: Final = """
SELECT count(DISTINCT (w.pid, w.stmt_at, w.query)), count(DISTINCT w.xid)
FROM public.bench_writes AS w
WHERE w.id > $1"""


class WritesRun(msgspec.Struct, frozen=True, kw_only=True):
    mode: str
    deltas: int
    rate: float
    stream_s: float
    statements: int
    transactions: int
    by_query: dict[str, int]


class WritesResult(msgspec.Struct, frozen=True, kw_only=True):
    burst: WritesRun
    paced: WritesRun
    per_stream_s: float  # extra statements per extra second of streaming
    constant: int  # statements of a turn that streams for (almost) no time
    meets_target: bool


class WriteCounter:
    """Installs the triggers on `url` for the life of the `async with` block."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> WriteCounter:
        self._conn = await asyncpg.connect(self._url)
        for statement in _INSTALL:
            await self._conn.execute(statement)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._conn is not None
        for statement in _REMOVE:
            await self._conn.execute(statement)
        await self._conn.close()

    async def mark(self) -> int:
        assert self._conn is not None
        mark: int = await self._conn.fetchval(_MARK)
        return mark

    async def since(self, mark: int, run: WsRun) -> WritesRun:
        assert self._conn is not None
        total = await self._conn.fetchrow(_TOTAL, mark)
        assert total is not None
        rows = await self._conn.fetch(_COUNT, mark)
        return WritesRun(
            mode=run.mode,
            deltas=run.deltas_per_turn,
            rate=run.rate,
            stream_s=run.stream_s,
            statements=int(total[0]),
            transactions=int(total[1]),
            by_query={str(r["name"]): int(r["statements"]) for r in rows},
        )


def writes_result(burst: WritesRun, paced: WritesRun) -> WritesResult:
    """A turn of any length may cost at most one write per second of streaming plus a constant:
    the paced turn's extra statements over the burst's, per extra second of streaming."""
    extra_s = max(paced.stream_s - burst.stream_s, 1e-9)
    extra = paced.statements - burst.statements
    return WritesResult(
        burst=burst,
        paced=paced,
        per_stream_s=extra / extra_s,
        constant=burst.statements,
        meets_target=extra <= math.ceil(extra_s),
    )
