"""Logging: the request or socket id every line carries, the security log, and the formats.

Each HTTP request and each WebSocket gets an id when it arrives (`new_request_id`,
`new_socket_id`, kept in a context variable, so whatever runs on its behalf — a turn started
from a socket, say — logs it too). `FACEPLATE_LOG_FORMAT=json` writes every line, uvicorn's
included, as one JSON object (`JsonFormatter`); `text`, the default, keeps uvicorn's lines.

The security log (`security`, logger `faceplate.security`) is one line per event: failed
sign-ins, refused addresses and commands, limits reached, config changes. It names the user
and never a token or a secret value.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
import os
import re
import sys
import time
from collections.abc import MutableMapping
from contextvars import ContextVar
from http import HTTPStatus
from typing import IO, Any, Final, Literal
from uuid import UUID

import msgspec

SECURITY_LOGGER: Final = "faceplate.security"
ACCESS_LOGGER: Final = "faceplate.access"
_security = logging.getLogger(SECURITY_LOGGER)

# A short tag per process, so ids of several workers and instances never meet.
_PROCESS: Final = os.urandom(3).hex()
_COUNTER = itertools.count(1)
# Numbers, made into text only when a line is written: this runs on every request.
_REQUEST_ID: ContextVar[int] = ContextVar("faceplate_request_id", default=0)
_SOCKET_ID: ContextVar[int] = ContextVar("faceplate_socket_id", default=0)


_instance: str | None = None


def set_instance(instance_id: str) -> None:
    """Name this process's instance: every JSON line carries it as `instance`."""
    global _instance
    _instance = instance_id


def instance() -> str | None:
    """This process's instance id, once set."""
    return _instance


def new_request_id() -> None:
    """Give the current HTTP request (this task and what it starts) a new id."""
    _REQUEST_ID.set(next(_COUNTER))


def new_socket_id() -> None:
    """Give the current WebSocket (this task and what it starts) a new id."""
    _SOCKET_ID.set(next(_COUNTER))


def request_id() -> str | None:
    """The id of the HTTP request being served, if any: `r<process>-<n>`."""
    n = _REQUEST_ID.get()
    return f"r{_PROCESS}-{n:x}" if n else None


def socket_id() -> str | None:
    """The id of the WebSocket being served, if any: `s<process>-<n>`."""
    n = _SOCKET_ID.get()
    return f"s{_PROCESS}-{n:x}" if n else None


def security(
    event: str,
    message: str,
    *,
    user_id: UUID | None = None,
    level: int = logging.WARNING,
    **fields: str | int | None,
) -> None:
    """One line of the security log: `event` (a short name), what happened, and to whom.

    `fields` become extra attributes (JSON keys); none may carry a token or a secret.
    """
    who = str(user_id) if user_id is not None else None
    _security.log(
        level,
        "%s: %s (user %s)",
        event,
        message,
        who or "unknown",
        extra={"event": event, "user_id": who, **fields},
    )


# --- the JSON format --------------------------------------------------------------------------

# What every LogRecord has; anything else on a record is an extra field, written as a key.
_STANDARD: Final = frozenset(
    {*vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)), "message", "asctime"}
)
_ENCODER: Final = msgspec.json.Encoder(enc_hook=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request or socket id,
    the extra fields of the record, and the traceback, if any, as `exc_info`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if _instance is not None:
            entry["instance"] = _instance
        request = getattr(record, "request_id", None) or request_id()
        if request is not None:
            entry["request_id"] = request
        socket = getattr(record, "socket_id", None) or socket_id()
        if socket is not None:
            entry["socket_id"] = socket
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        try:
            return _ENCODER.encode(entry).decode()
        except (TypeError, ValueError, OverflowError):
            entry = {
                k: v if isinstance(v, str | int | float | bool) else repr(v)
                for k, v in entry.items()
            }
            return _ENCODER.encode(entry).decode()


def _utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


# --- configuration for `faceplate serve` ------------------------------------------------------


class HideCallbackQuery(logging.Filter):
    """The access log line of `/oauth/callback` without its query: it holds a code and a state."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            if sep and path == "/oauth/callback":
                record.args = (*args[:2], f"{path}?…", *args[3:])
        return True


def log_config(log_format: Literal["text", "json"], *, access_log: bool = True) -> dict[str, Any]:
    """uvicorn's logging configuration, with the `faceplate` loggers shown the same way from
    INFO and every other logger (libraries) from WARNING, the OAuth callback's query kept out
    of the access log; `json` formats every handler's lines with JsonFormatter.

    With `access_log`, `faceplate.access` gets an AccessHandler on stdout: the app then writes
    the access log itself (`serve` turns uvicorn's own off)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["faceplate"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config.setdefault("filters", {})["hide_callback_query"] = {
        "()": "faceplate.logs.HideCallbackQuery"
    }
    config["loggers"]["uvicorn.access"]["filters"] = ["hide_callback_query"]
    if log_format == "json":
        for name in config["formatters"]:
            config["formatters"][name] = {"()": "faceplate.logs.JsonFormatter"}
    if access_log:
        config["handlers"]["faceplate_access"] = {
            "()": "faceplate.logs.AccessHandler",
            "json": log_format == "json",
        }
        config["loggers"][ACCESS_LOGGER] = {
            "handlers": ["faceplate_access"],
            "level": "INFO",
            "propagate": False,
        }
    return config


# --- the access log ---------------------------------------------------------------------------

_ACCESS_TEXT: Final = 'INFO:     %s - "%s %s HTTP/%s" %s %s\n'
_PHRASES: Final = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
_FLUSH_BYTES: Final = 64 * 1024
_CALLBACK: Final = "/oauth/callback"
_UNPRINTABLE: Final = re.compile(rb"[^\x21-\x7e]")


class AccessHandler(logging.Handler):
    """The access log: one line per HTTP request, kept in memory and written in batches.

    `request(scope, status)` is the app's fast path: no LogRecord, no lock per line, no write
    per line. Lines reach the stream `interval_s` after the first of a batch (or at 64 KiB),
    and at `flush()`/`close()` (logging's shutdown at exit). Text lines read like uvicorn's
    with the request id after the status; `json` lines are JsonFormatter's objects with the
    request's fields. The OAuth callback's query is never written (it holds a code and a
    state). Anything logged to `faceplate.access` the usual way goes through the same buffer.
    """

    def __init__(
        self, stream: IO[str] | None = None, *, json: bool = False, interval_s: float = 0.2
    ) -> None:
        super().__init__()
        self._stream = stream if stream is not None else sys.stdout
        self._json = json
        self._interval_s = interval_s
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        if json:
            self.setFormatter(JsonFormatter())

    def request(self, scope: MutableMapping[str, Any], status: int) -> None:
        """The line of one HTTP request whose response starts with `status`."""
        client = scope.get("client")
        where = f"{client[0]}:{client[1]}" if client else "-"
        target = _printable(scope.get("raw_path") or scope["path"].encode())
        query = scope.get("query_string")
        if query:
            target += "?…" if target == _CALLBACK else "?" + _printable(query)
        rid = request_id() or "-"
        if self._json:
            entry = {
                "time": _utc(time.time()),
                "level": "INFO",
                "logger": ACCESS_LOGGER,
                "message": f'{where} - "{scope["method"]} {target} HTTP/{scope["http_version"]}" '
                f"{status}",
                "request_id": rid,
                "client": where,
                "method": scope["method"],
                "path": target,
                "status": status,
            }
            line = _ENCODER.encode(entry).decode() + "\n"
        else:
            phrase = _PHRASES.get(status) or str(status)
            line = _ACCESS_TEXT % (
                where,
                scope["method"],
                target,
                scope["http_version"],
                phrase,
                rid,
            )
        self._add(line)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._add(self.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def _add(self, line: str) -> None:
        lines = self._lines
        lines.append(line)
        self._size += len(line)
        if self._size >= _FLUSH_BYTES:
            self.flush()
        elif len(lines) == 1:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on an event loop: nothing would write the batch later
                self.flush()
                return
            self._timer = loop.call_later(self._interval_s, self.flush)

    def flush(self) -> None:
        """Write every line kept so far."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines.clear()
        self._size = 0
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed or broken stdout: the log cannot be written
            pass

    def close(self) -> None:
        self.flush()
        super().close()


def _printable(raw: bytes) -> str:
    """`raw` as ASCII without spaces or control characters (percent-encoded): a request cannot
    write a line of its own into the log."""
    if _UNPRINTABLE.search(raw) is not None:
        raw = _UNPRINTABLE.sub(lambda m: b"%%%02X" % m[0][0], raw)
    return raw.decode("ascii")


def access_handler() -> AccessHandler | None:
    """The AccessHandler logging is configured with (`log_config(access_log=True)`), if any."""
    for handler in logging.getLogger(ACCESS_LOGGER).handlers:
        if isinstance(handler, AccessHandler):
            return handler
    return None
