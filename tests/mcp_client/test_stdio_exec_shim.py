"""The exec shim, in this process up to the exec (the real ones run in every stdio test)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from faceplate.mcp_client.stdio import exec_shim


def test_a_command_that_cannot_run_is_exit_status_127_with_a_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert exec_shim.main(["core=0", "-", "--", "/nonexistent/server"]) == 127
    assert capsys.readouterr().err == "cannot run /nonexistent/server: No such file or directory\n"


def test_a_malformed_call_is_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert exec_shim.main(["core=0", "-", "server"]) == 2
    assert "usage" in capsys.readouterr().err


def test_limits_never_rise_above_the_hard_limit_already_set() -> None:
    code = (
        "import resource, runpy, sys;"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (50, 50));"
        "shim = runpy.run_path(sys.argv[1]);"
        "shim['set_limits']('nofile=1000,cpu=10');"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE), resource.getrlimit(resource.RLIMIT_CPU))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, exec_shim.__file__], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "(50, 50) (10, 15)"
