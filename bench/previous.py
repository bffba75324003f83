"""The service as it was before several instances: the same app with the one-process fan-out.

    uvicorn bench.previous:app

`faceplate.app` builds its `ClusterFanout` when the lifespan starts; here that name is bound to
`PreviousFanout` first, so every socket and turn goes through `LocalFanout` alone — no socket
rows (`turn_watchers`), no NOTIFY, nothing heard. The listener and notifier still start, with
no channel and nothing to send. Turn leases stay: they are the turn engine's, not the fan-out's.
For the bench only (bench.cluster measures it side by side with the service), never a setting.
"""

from __future__ import annotations

from typing import Any

import faceplate.app
from faceplate.turns.fanout import LocalFanout


class _NoWatches:
    def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class PreviousFanout(LocalFanout):
    """`LocalFanout` with the few names the app's wiring asks of a `ClusterFanout`."""

    def __init__(self, db: Any, notifier: Any, *, instance_id: str, **_: Any) -> None:
        super().__init__()
        self.instance_id = instance_id
        self.local = self
        self.watches = _NoWatches()

    @property
    def channels(self) -> list[str]:
        return []

    def on_notify(self, channel: str, payload: str) -> None:
        return None

    def lost(self) -> None:
        return None


faceplate.app.ClusterFanout = PreviousFanout  # type: ignore[misc,assignment]
app = faceplate.app.create_app()
