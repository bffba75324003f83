"""Set resource limits (and, when asked, drop to another uid), then exec the stdio server.

Its source runs as `python -I -S -c SOURCE LIMITS IDS -- COMMAND ARGS…`: no site, no
environment variables read, nothing imported but os, sys and resource, so it costs a few
milliseconds and works inside a sandbox that shows only the interpreter. LIMITS is
`name=value,…` (names of resource.RLIMIT_*, lower case, without the prefix); IDS is `uid:gid`
or `-`. Python runs it between fork and exec of nothing: subprocess's preexec_fn is not safe in
a threaded service, and neither asyncio nor anyio sets limits in the child.
"""

from __future__ import annotations

import os
import resource
import sys

# Soft CPU limit sends SIGXCPU; the hard one, this much later, SIGKILL.
CPU_GRACE_S = 5


def set_limits(spec: str) -> None:
    for item in filter(None, spec.split(",")):
        name, _, raw = item.partition("=")
        which = getattr(resource, "RLIMIT_" + name.upper())
        soft = hard = int(raw)
        if name == "cpu":
            hard = soft + CPU_GRACE_S
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:
            hard = min(hard, current)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def drop_to(ids: str) -> None:
    if ids == "-":
        return
    uid, _, gid = ids.partition(":")
    os.setgroups([])
    os.setresgid(int(gid), int(gid), int(gid))
    os.setresuid(int(uid), int(uid), int(uid))


def main(argv: list[str]) -> int:
    spec, ids, separator, *command = argv
    if separator != "--" or not command:
        print("faceplate exec shim: usage: LIMITS IDS -- COMMAND ARGS", file=sys.stderr)
        return 2
    try:
        set_limits(spec)
        drop_to(ids)
        os.execv(command[0], command)
    except OSError as exc:
        print(f"cannot run {command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    return 0  # not reached: execv returned


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
