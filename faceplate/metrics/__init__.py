"""Operators' metrics (CONTRACT §11): what the service counts, and `/metrics`' text."""

from __future__ import annotations

from faceplate.metrics.registry import Metrics, TurnWatch

__all__ = ["Metrics", "TurnWatch"]
