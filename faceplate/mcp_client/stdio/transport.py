"""The stdio transport: one server process, its messages a line each, none larger than a cap.

Our own rather than the SDK's `stdio_client`, which holds a line whole however long it grows,
sends stderr to a file, and never says why a server went away: here a line over the cap ends
the connection with a reason naming the size (memory stays within the cap), stderr goes to the
log line by line (each bounded) and the last line of it, with the exit status, becomes the
reason the user and the model see.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final
from uuid import UUID

import anyio
import mcp_types as types
from anyio.abc import Process
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.client._transport import TransportStreams
from mcp.shared.message import SessionMessage

from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.stdio.launch import Launch
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.structs import StdioConfig

_log = logging.getLogger(__name__)

_CHUNK: Final = 65536
_STDERR_LINE_MAX: Final = 2000  # bytes of one stderr line that reach the log
_STDERR_LINES_LOGGED: Final = 1000  # per process; the rest is read and dropped
_REASON_MAX: Final = 300  # characters of the last stderr line in a reason
_EXIT_WAIT_S: Final = 2.0  # for the exit status once stdout ended
_STDIN_GRACE_S: Final = 2.0  # after stdin closes, before SIGTERM
_TERM_GRACE_S: Final = 2.0  # after SIGTERM, before SIGKILL
_FLUSH_S: Final = 0.5
_POLL_S: Final = 0.01


class StdioTransport:
    """One stdio server process, started by `connect()` and stopped when it exits.

    `failure` says why the connection ended when the server did it (exit, crash, a line over
    the cap), and stays None when we closed it.
    """

    def __init__(self, runtime: StdioRuntime, config: StdioConfig, config_id: UUID) -> None:
        self._runtime = runtime
        self._config = config
        self._config_id = config_id
        self.failure: str | None = None
        self.last_stderr = ""
        self._stopping = False
        self._stdout_done = anyio.Event()
        self._stderr_done = anyio.Event()
        self._writer_done = anyio.Event()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[TransportStreams]:
        # Shielded from the spawn until the task group runs: a cancellation in between would
        # leak the process, its directory or its uid.
        with anyio.CancelScope(shield=True):
            launch = await anyio.to_thread.run_sync(self._runtime.prepare, self._config)
            try:
                process = await self._spawn(launch)
            except BaseException:
                await anyio.to_thread.run_sync(launch.cleanup)
                raise
        read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](0)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pump_stdout, process, read_send)
                tg.start_soon(self._pump_stderr, process)
                tg.start_soon(self._pump_stdin, process, write_recv, read_send)
                try:
                    yield read_recv, write_send
                finally:
                    self._stopping = True
                    with anyio.CancelScope(shield=True):
                        read_recv.close()
                        write_send.close()
                        await self._stop(process)
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(launch.cleanup)

    async def _spawn(self, launch: Launch) -> Process:
        try:
            return await anyio.open_process(
                launch.argv,
                env=launch.env,
                cwd=launch.cwd,
                pass_fds=launch.pass_fds,
                start_new_session=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise ToolUnavailable(
                f"the stdio MCP server could not start: {exc.strerror or exc}"
            ) from exc
        finally:
            launch.close_fds()

    async def _pump_stdout(
        self, process: Process, read_send: MemoryObjectSendStream[SessionMessage | Exception]
    ) -> None:
        async with read_send:
            try:
                await self._read_lines(process, read_send)
            except (
                anyio.EndOfStream,
                anyio.ClosedResourceError,
                anyio.BrokenResourceError,
                OSError,
            ):
                pass
            finally:
                self._stdout_done.set()
            if not self._stopping and self.failure is None:
                await self._ended(process)

    async def _read_lines(
        self, process: Process, read_send: MemoryObjectSendStream[SessionMessage | Exception]
    ) -> None:
        """Each line to the session, until the end of stdout; past the cap, the connection
        ends. Discards once the session is gone, so a server flushing its output can exit."""
        assert process.stdout is not None
        limit = self._runtime.max_line_bytes
        pending = bytearray()
        delivering = True
        while True:
            chunk = await process.stdout.receive(_CHUNK)
            if not delivering:
                continue
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                if len(pending) + end - start > limit:
                    self._overflow(process, limit)
                    return
                pending += chunk[start:end]
                start = end + 1
                delivering = await self._deliver(bytes(pending), read_send)
                pending.clear()
                if not delivering:
                    break
            if not delivering:
                continue
            if len(pending) + len(chunk) - start > limit:
                self._overflow(process, limit)
                return
            pending += chunk[start:]

    async def _deliver(
        self, line: bytes, read_send: MemoryObjectSendStream[SessionMessage | Exception]
    ) -> bool:
        if not line.strip():
            return True
        item: SessionMessage | Exception
        try:
            item = SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
        except ValueError as exc:
            _log.warning(
                "stdio server of config %s wrote %d bytes that are not a JSON-RPC message",
                self._config_id,
                len(line),
            )
            item = exc
        try:
            await read_send.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return False
        return True

    def _overflow(self, process: Process, limit: int) -> None:
        self.failure = (
            f"the stdio MCP server sent a message larger than {_size(limit)} ({limit} bytes), "
            "the most one message may be, so the connection was closed"
        )
        _log.warning("stdio server of config %s: %s", self._config_id, self.failure)
        _signal_group(process, signal.SIGKILL)

    async def _ended(self, process: Process) -> None:
        """The server closed its output: wait a moment for its exit status and last words."""
        with anyio.move_on_after(_EXIT_WAIT_S):
            await _exited(process)
            await self._stderr_done.wait()
        if self.failure is not None or self._stopping:
            return
        code = process.returncode
        if code is not None and code > 128 and self._runtime.sandbox.kind == "bwrap":
            code = 128 - code  # bwrap exits 128 + N when its child died of signal N
        if code is None:
            status = "closed its output"
        elif code < 0:
            status = f"was killed by signal {_signal_name(-code)}"
        else:
            status = f"exited with status {code}"
        last = f": {self.last_stderr}" if self.last_stderr else ""
        self.failure = f"the stdio MCP server {status}{last}"
        _log.warning("stdio server of config %s: %s", self._config_id, self.failure)

    async def _pump_stderr(self, process: Process) -> None:
        assert process.stderr is not None
        lines = _Lines(self._config_id, self)
        try:
            while True:
                lines.feed(await process.stderr.receive(_CHUNK))
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        finally:
            lines.flush()
            self._stderr_done.set()

    async def _pump_stdin(
        self,
        process: Process,
        write_recv: MemoryObjectReceiveStream[SessionMessage],
        read_send: MemoryObjectSendStream[SessionMessage | Exception],
    ) -> None:
        assert process.stdin is not None
        try:
            async with write_recv:
                async for message in write_recv:
                    json = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send(json.encode() + b"\n")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            if not self._stopping:
                # It stopped reading: its exit, if that is why, makes the better reason.
                with anyio.move_on_after(_EXIT_WAIT_S + 0.5):
                    await self._stdout_done.wait()
                if self.failure is None and not self._stopping:
                    self.failure = "the stdio MCP server stopped reading its input"
                read_send.close()
        finally:
            self._writer_done.set()
            with contextlib.suppress(OSError, anyio.BrokenResourceError):
                await process.stdin.aclose()

    async def _stop(self, process: Process) -> None:
        """Close stdin, give the server a moment, then end its whole process group."""
        with anyio.move_on_after(_FLUSH_S):
            await self._writer_done.wait()
        assert process.stdin is not None
        with contextlib.suppress(OSError, anyio.BrokenResourceError):
            await process.stdin.aclose()
        for grace, sig in ((_STDIN_GRACE_S, signal.SIGTERM), (_TERM_GRACE_S, signal.SIGKILL)):
            with anyio.move_on_after(grace):
                await _exited(process)
            if process.returncode is not None:
                break
            _signal_group(process, sig)
        with anyio.move_on_after(_TERM_GRACE_S):
            await _exited(process)
        if process.returncode is None:
            _log.warning("stdio server of config %s did not die; left behind", self._config_id)
        # Whatever else is left in its group (the leader has gone, not always its children).
        _signal_group(process, signal.SIGKILL)
        # Not process.aclose(): it waits, shielded, for the pipes to close, which a survivor
        # holding them would make forever.
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, anyio.BrokenResourceError):
                    await stream.aclose()
        _close_transport(process)


class _Lines:
    """A stderr stream cut into lines: each logged (bounded), the last one kept for a reason."""

    def __init__(self, config_id: UUID, transport: StdioTransport) -> None:
        self._config_id = config_id
        self._transport = transport
        self._line = bytearray()
        self._cut = 0
        self._logged = 0

    def feed(self, chunk: bytes) -> None:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            self._add(chunk[start:end])
            self._emit()
            start = end + 1
        self._add(chunk[start:])

    def flush(self) -> None:
        if self._line or self._cut:
            self._emit()

    def _add(self, piece: bytes) -> None:
        room = _STDERR_LINE_MAX - len(self._line)
        self._line += piece[:room]
        self._cut += max(0, len(piece) - room)

    def _emit(self) -> None:
        text = self._line.decode(errors="replace").rstrip()
        if self._cut:
            text += f" … [{self._cut} more bytes]"
        self._line.clear()
        self._cut = 0
        if not text:
            return
        self._transport.last_stderr = text[:_REASON_MAX]
        if self._logged < _STDERR_LINES_LOGGED:
            _log.info("stdio server of config %s: %s", self._config_id, text)
        elif self._logged == _STDERR_LINES_LOGGED:
            _log.info("stdio server of config %s: (more stderr, not logged)", self._config_id)
        self._logged += 1


def _close_transport(process: Process) -> None:
    """Close asyncio's subprocess transport, which stays open (and warns when collected) while
    a survivor holds a pipe; nothing public reaches it, hence the attribute walk."""
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    close = getattr(transport, "close", None)
    if callable(close):
        with contextlib.suppress(PermissionError):
            close()


async def _exited(process: Process) -> None:
    """Until the process has exited. Not `process.wait()`, which also waits for its pipes to
    close, and a child that inherited them keeps them open."""
    while process.returncode is None:
        await anyio.sleep(_POLL_S)


def _signal_group(process: Process, sig: signal.Signals) -> None:
    # The leader's pid is its group's id (start_new_session); never getpgid(), which fails once
    # the leader has been reaped.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _size(n: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"
