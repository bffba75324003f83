"""A stdio MCP server that looks around its sandbox and misbehaves on request.

Self-contained (the SDK and the standard library only), so a sandbox that shows nothing of the
repository but this file can run it: `python stdio_probe.py`.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import time

from mcp.server.mcpserver import MCPServer

LIMITS = {
    "address_space": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "open_files": resource.RLIMIT_NOFILE,
    "cpu": resource.RLIMIT_CPU,
    "file_size": resource.RLIMIT_FSIZE,
    "core": resource.RLIMIT_CORE,
}

server = MCPServer("stdio-probe", log_level="WARNING")
# The SDK moves the wire off fd 1 (stray prints go to stderr); keep a way onto it.
WIRE = os.dup(1)


def _read(path: str) -> str:
    try:
        with open(path, "rb") as file:
            return "read: " + file.read(4096).decode(errors="replace")
    except OSError as exc:
        return f"error: {exc.strerror}"


def _list(path: str) -> list[str] | str:
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return f"error: {exc.strerror}"


@server.tool(description="What this process can see of its host.")
def look(paths: list[str]) -> dict[str, object]:
    return {
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "cwd_entries": _list("."),
        "proc": _list("/proc"),
        "root": _list("/"),
        "parent_environ": _read(f"/proc/{os.getppid()}/environ"),
        "init_environ": _read("/proc/1/environ"),
        "files": {path: _read(path) for path in paths},
        "limits": {name: list(resource.getrlimit(which)) for name, which in LIMITS.items()},
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "status": _status(("CapEff", "CapPrm", "NoNewPrivs")),
    }


def _status(fields: tuple[str, ...]) -> dict[str, str]:
    with open("/proc/self/status") as status:
        pairs = (line.split(":", 1) for line in status)
        return {k: v.strip() for k, v in pairs if k in fields}


@server.tool(description="Start up to n child processes; how many started.")
def spawn(n: int) -> int:
    started = 0
    children = []
    try:
        for _ in range(n):
            pid = os.fork()
            if pid == 0:
                time.sleep(5)
                os._exit(0)
            children.append(pid)
            started += 1
    except OSError:
        pass
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    return started


@server.tool(description="Allocate this many MiB; whether it worked.")
def allocate(mib: int) -> str:
    try:
        block = bytearray(mib * 1024 * 1024)
    except MemoryError:
        return "MemoryError"
    return f"allocated {len(block) >> 20} MiB"


@server.tool(description="Open up to n files; how many opened.")
def open_files(n: int) -> int:
    opened = []
    try:
        for _ in range(n):
            opened.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        pass
    for fd in opened:
        os.close(fd)
    return len(opened)


@server.tool(description="Write a file of this many MiB in the home directory.")
def write_file(mib: int) -> str:
    try:
        with open("big.bin", "wb") as file:
            for _ in range(mib):
                file.write(b"\0" * (1024 * 1024))
    except OSError as exc:
        return f"error: {exc.strerror}"
    finally:
        os.unlink("big.bin")
    return f"wrote {mib} MiB"


@server.tool(description="Spin the CPU for this many seconds of wall time.")
def burn(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "survived"


@server.tool(description="Write this many MiB to the wire with no newline, then sleep.")
def flood(mib: int) -> str:
    chunk = b"x" * (1024 * 1024)
    for _ in range(mib):
        os.write(WIRE, chunk)
    time.sleep(30)
    return "done"


@server.tool(description="Say something on stderr, then exit with this status.")
def die(status: int, last_words: str) -> str:
    print("a line before", file=sys.stderr)
    print(last_words, file=sys.stderr, flush=True)
    os._exit(status)


@server.tool(description="Open a TCP connection to host:port; what happened.")
def connect(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=3):
            return "connected"
    except OSError as exc:
        return f"error: {exc}"


@server.tool(description="Echo the text back.")
def echo(text: str) -> str:
    return text


@server.tool(description="This process's id, as it sees it.")
def pid() -> int:
    return os.getpid()


if __name__ == "__main__":
    if os.environ.get("PROBE_DIE_AT_START"):
        print("probe: refusing to start", file=sys.stderr, flush=True)
        sys.exit(3)
    print("probe: started", file=sys.stderr, flush=True)
    server.run("stdio")
