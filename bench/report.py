"""The printed table and the JSON summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from bench.first import FirstResult
from bench.metrics import MetricsCost
from bench.metrics import render as render_metrics
from bench.rest import LOG_TARGET, P99_TARGET, RPS_TARGET, RouteResult
from bench.workers import WorkersResult
from bench.writes import WritesResult
from bench.ws import IdleResult, WsResult


class Section(msgspec.Struct, frozen=True, kw_only=True):
    """A part that did not run, and why."""

    skipped: str


class Summary(msgspec.Struct, kw_only=True):
    meta: dict[str, Any]
    rest: list[RouteResult] | Section
    first: FirstResult | Section
    ws: list[WsResult] | Section
    writes: WritesResult | Section
    idle: list[IdleResult] | Section
    workers: WorkersResult | Section
    profile: dict[str, Any] | None = None
    metrics: MetricsCost | Section = Section(skipped="not asked for (--metrics)")


def write_json(summary: Summary, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")


def _f(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _workers(result: WorkersResult | Section) -> list[str]:
    if isinstance(result, Section):
        return [f"Workers: skipped ({result.skipped})"]
    out = [
        "Workers: `faceplate serve --workers 1` vs `--workers 2`, access log "
        f"{result.access_log}; nothing pinned: servers, load generator and PostgreSQL share "
        f"the machine's {result.cpus} CPUs; {result.connections} connections, "
        f"{result.generator}, {result.rounds} rounds x {result.duration_s:g} s, alternated, "
        "medians. CPU us/req: server = its whole process tree (supervisor + workers), PG = "
        "its PostgreSQL backends, load = the load generator, total = the three. No target: "
        "read as it is"
    ]

    def pair(a: float | None, b: float | None, fmt: str = "{:.0f}") -> str:
        return f"{_f(a, fmt)} / {_f(b, fmt)}"

    rows = [
        [
            r.route,
            f"{r.one.rps:.0f}",
            f"{r.two.rps:.0f}",
            f"{r.rps_ratio:.2f}",
            pair(r.one.p99_ms, r.two.p99_ms, "{:.2f}"),
            pair(r.one.cpu_us, r.two.cpu_us),
            pair(r.one.pg_cpu_us, r.two.pg_cpu_us),
            pair(r.one.load_cpu_us, r.two.load_cpu_us),
            pair(r.one.total_cpu_us, r.two.total_cpu_us),
            f"{r.one.processes} / {r.two.processes}",
            pair(100 * r.one.busiest_share, 100 * r.two.busiest_share, "{:.0f}%"),
            f"{100 * max(r.one.rps_spread, r.two.rps_spread):.0f}%",
        ]
        for r in result.routes
    ]
    header = ["route", "1w req/s", "2w req/s", "2w/1w", "p99 ms 1w / 2w"]
    header += ["server CPU us/req 1w / 2w", "PG 1w / 2w", "load 1w / 2w", "total 1w / 2w"]
    header += ["processes", "busiest process", "spread"]
    return out + _table(header, rows)


def render(summary: Summary) -> str:
    """The human-readable table of every part."""
    m = summary.meta
    out = [
        f"Faceplate bench — {m['size']} size, {m['cpus']}; PostgreSQL {m['database']}",
        "",
    ]
    if isinstance(summary.rest, Section):
        out.append(f"REST: skipped ({summary.rest.skipped})")
    else:
        out.append(
            f"REST: {m['connections']} connections, {m['generator']}, "
            f"{m['rounds']} rounds x {m['duration_s']:g} s, medians. service = uvicorn, no "
            "access log; serve = `faceplate serve` with its default access log; floor = the "
            f"independent bare-ASGI floor. Targets: service/floor >= {RPS_TARGET}, "
            f"serve/floor >= {LOG_TARGET}, p99 ratio <= {P99_TARGET}"
        )
        rows = [
            [
                r.route,
                f"{r.service.rps:.0f}",
                _f(r.serve.rps if r.serve else None, "{:.0f}"),
                f"{r.floor.rps:.0f}",
                f"{r.rps_ratio:.2f}",
                _f(r.log_ratio),
                _f(r.log_cost),
                f"{r.service.p99_ms:.2f} / {r.floor.p99_ms:.2f}",
                f"{r.p99_ratio:.2f}",
                f"{r.service.cpu_us:.0f} / {_f(r.serve.cpu_us if r.serve else None, '{:.0f}')}"
                f" / {r.floor.cpu_us:.0f}",
                f"{r.cpu_ratio:.2f}",
                f"{_f(r.service.pg_cpu_us, '{:.0f}')} / {_f(r.floor.pg_cpu_us, '{:.0f}')}",
                _f(r.pg_cpu_ratio),
                f"{100 * max(r.service.rps_spread, r.floor.rps_spread):.0f}%",
                _yes(r.meets_target),
            ]
            for r in summary.rest
        ]
        header = ["route", "service req/s", "serve req/s", "floor req/s", "ratio"]
        header += ["serve ratio", "serve/service", "p99 ms svc / floor", "p99 ratio"]
        header += ["CPU us/req svc / serve / floor", "CPU ratio", "PG CPU us/req svc / floor"]
        header += ["PG CPU ratio", "spread", "target"]
        out += _table(header, rows)
    out.append("")
    if isinstance(summary.first, Section):
        out.append(f"First token: skipped ({summary.first.skipped})")
    else:
        out.append(
            "First token: user_message sent -> the model's request arrives, medians of the "
            f"turns after each case's first; target: {summary.first.target}"
        )
        rows = [
            [
                "none" if c.servers == 0 else f"{c.servers} servers, {c.where}",
                str(c.turns),
                f"{c.median_ms:.2f}",
                f"{c.added_ms:+.2f}",
                f"{c.max_ms:.2f}",
                f"{c.cold_ms:.1f}",
            ]
            for c in summary.first.cases
        ]
        header = ["enabled MCP servers", "turns", "median ms", "added ms", "max ms"]
        header += ["first turn ms (opens sessions)"]
        out += _table(header, rows)
        out.append(f"  target met: {_yes(summary.first.meets_target)}")
    out.append("")
    if isinstance(summary.ws, Section):
        out.append(f"WebSocket relay: skipped ({summary.ws.skipped})")
    else:
        out.append(
            "WebSocket relay: service vs bare Starlette floor; burst = model as fast as it "
            "can, paced = model at the given deltas/s per turn; medians"
        )
        rows = [
            [
                f"{w.mode} {w.turns} turns x {w.deltas_per_turn}"
                + (f" @ {w.rate:g}/s" if w.rate else ""),
                f"{w.service.deltas_per_s:.0f} / {w.floor.deltas_per_s:.0f}",
                f"{w.service.frames_per_s:.0f} / {w.floor.frames_per_s:.0f}",
                f"{w.deltas_ratio:.2f}",
                f"{w.service.p50_delay_ms:.1f} / {w.floor.p50_delay_ms:.1f}",
                f"{w.service.p99_delay_ms:.1f} / {w.floor.p99_delay_ms:.1f}",
                w.target,
                _yes(w.meets_target),
            ]
            for w in summary.ws
        ]
        header = ["run", "deltas/s svc / floor", "frames/s svc / floor", "deltas ratio"]
        header += ["p50 delay ms", "p99 delay ms", "target", "met"]
        out += _table(header, rows)
    out.append("")
    if isinstance(summary.writes, Section):
        out.append(f"DB writes per turn: skipped ({summary.writes.skipped})")
    else:
        w = summary.writes
        out.append("DB writes per turn (write statements; transactions in brackets):")
        for run in (w.burst, w.paced):
            queries = ", ".join(f"{k} {v}" for k, v in sorted(run.by_query.items()))
            out.append(
                f"  {run.mode:5} {run.deltas} deltas streamed in {run.stream_s:.2f} s: "
                f"{run.statements} ({run.transactions})  [{queries}]"
            )
        out.append(
            f"  => {w.constant} + {w.per_stream_s:.2f} per second of streaming; "
            f"target <= 1/s + constant: {_yes(w.meets_target)}"
        )
    out.append("")
    if isinstance(summary.idle, Section):
        out.append(f"Idle sockets: skipped ({summary.idle.skipped})")
    else:
        for i in summary.idle:
            mark = (
                f"  target <= 50 KiB: {_yes(i.per_socket_kib <= 50)}"
                if i.target == "service"
                else ""
            )
            out.append(
                f"Idle sockets: {i.target:7} {i.sockets} authenticated sockets "
                f"+{(i.rss_after_kib - i.rss_before_kib) / 1024:.1f} MiB RSS = "
                f"{i.per_socket_kib:.1f} KiB per socket{mark}"
            )
    out.append("")
    out += _workers(summary.workers)
    if not isinstance(summary.metrics, Section):
        out += ["", *render_metrics(summary.metrics)]
    for note in m.get("notes", []):
        out.append(f"note: {note}")
    return "\n".join(out)
