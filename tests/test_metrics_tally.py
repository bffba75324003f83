"""The hot paths' tallies give prometheus_client exactly what its own `observe` would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from faceplate.metrics.registry import Tally

BUCKETS = (0.001, 0.01, 0.1, 1.0)
VALUES = [0.0, 0.0005, 0.001, 0.0010001, 0.01, 0.05, 0.1, 0.99, 1.0, 1.5, 42.0]


def _histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram("h_seconds", "h", ("route",), buckets=BUCKETS, registry=registry)


def test_a_flushed_tally_reads_as_observed_values() -> None:
    observed, tallied = CollectorRegistry(), CollectorRegistry()
    direct = _histogram(observed).labels("/a")
    tally = Tally(_histogram(tallied).labels("/a"), BUCKETS)

    for v in VALUES:
        direct.observe(v)
        tally.observe(v)
    tally.flush()
    first = generate_latest(tallied)
    for v in VALUES[:3]:  # a second flush adds only what came since the first
        direct.observe(v)
        tally.observe(v)
    tally.flush()
    tally.flush()

    assert b'h_seconds_bucket{le="0.001",route="/a"} 3.0' in first
    assert b'h_seconds_count{route="/a"} 11.0' in first
    assert generate_latest(tallied) == generate_latest(observed)


def test_an_empty_tally_adds_nothing() -> None:
    registry = CollectorRegistry()
    tally = Tally(_histogram(registry).labels("/a"), BUCKETS)

    tally.flush()

    assert b'h_seconds_count{route="/a"} 0.0' in generate_latest(registry)
