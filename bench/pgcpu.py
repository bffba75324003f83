"""PostgreSQL's CPU time spent for one server: its backends, found by application_name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
_BACKENDS: Final = "SELECT a.pid FROM pg_stat_activity AS a WHERE a.application_name = %s"


def named(url: str, application_name: str) -> str:
    """`url` with `application_name` set, so that the server's backends can be told apart."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "application_name"]
    query.append(("application_name", application_name))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class PgCpu:
    """Snapshots of the CPU time of the backends of an application_name (from /proc: the
    database must run on this machine, else nothing is found and `used` says None)."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        self._conn.close()

    def snapshot(self, application_name: str) -> dict[int, float]:
        rows = self._conn.execute(_BACKENDS, (application_name,)).fetchall()
        found = {int(r[0]): _cpu_s(int(r[0])) for r in rows}
        return {pid: cpu for pid, cpu in found.items() if cpu is not None}

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float | None:
        """CPU seconds the backends used between two snapshots (a backend that began
        meanwhile counts whole); None when none could be read."""
        if not after:
            return None
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
