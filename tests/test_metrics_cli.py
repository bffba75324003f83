"""`serve`'s shared metrics directory for several workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from faceplate.cli import _metrics_dir
from faceplate.settings import Settings

ENV = "PROMETHEUS_MULTIPROC_DIR"


def test_several_workers_with_metrics_get_a_fresh_directory_removed_at_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV, raising=False)

    with _metrics_dir(Settings(metrics=True), workers=2):
        directory = Path(os.environ[ENV])
        assert directory.is_dir() and list(directory.iterdir()) == []
        (directory / "counter_1.db").write_bytes(b"x")

    assert ENV not in os.environ
    assert not directory.exists()


@pytest.mark.parametrize(("metrics", "workers"), [(False, 4), (True, 1)])
def test_one_worker_or_no_metrics_need_no_directory(
    monkeypatch: pytest.MonkeyPatch, metrics: bool, workers: int
) -> None:
    monkeypatch.delenv(ENV, raising=False)

    with _metrics_dir(Settings(metrics=metrics), workers=workers):
        assert ENV not in os.environ


def test_the_operators_directory_is_theirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))

    with _metrics_dir(Settings(metrics=True), workers=3):
        assert os.environ[ENV] == str(tmp_path)

    assert os.environ[ENV] == str(tmp_path) and tmp_path.is_dir()
