"""`faceplate rotate-secrets`: every secret the database holds, encrypted anew with the first
key of FACEPLATE_SECRET_KEY.

Each kind of stored secret is a store: a function that walks its rows in batches and writes
each back re-encrypted, unless the row changed since it was read (the service, holding the
same keys, sealed it anew meanwhile). A value no key decrypts is left exactly as it is and
reported. Running it again is harmless: it only re-encrypts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Database
from faceplate.queries import mcp_configs as q
from faceplate.secrets import SecretBox, field_name

_BATCH: Final = 200


class Rotated(msgspec.Struct, kw_only=True):
    """What one store's rotation did."""

    store: str
    values: int = 0
    """values encrypted anew with the first key"""
    changed_meanwhile: int = 0
    """rows left alone because they changed after being read (sealed anew by the service)"""
    unreadable: list[str] = []
    """values no key decrypts, left as they are: "<row id> <field>" """


SecretStore = Callable[[Database, SecretBox], Awaitable[Rotated]]
"""Re-encrypts one kind of stored secret; see `rotate_mcp_configs`."""


async def rotate_mcp_configs(db: Database, box: SecretBox) -> Rotated:
    """MCP configs: header and env values. One short transaction per config."""
    done = Rotated(store="MCP config header and env values")
    after: UUID | None = None
    while True:
        async with db.connection() as conn:
            rows = await q.list_sealed_mcp_configs(conn, after_id=after, limit=_BATCH)
        for row in rows:
            config, rotated, unreadable = box.rotate_config(row.config)
            done.unreadable.extend(f"{row.id} {field_name(config, key)}" for key in unreadable)
            async with db.connection() as conn:
                written = await q.update_mcp_config_secrets(
                    conn, config_id=row.id, read_config=row.config, config=config
                )
            if written:
                done.values += rotated
            else:
                done.changed_meanwhile += 1
        if len(rows) < _BATCH:
            return done
        after = rows[-1].id


STORES: Final[tuple[SecretStore, ...]] = (rotate_mcp_configs,)
"""Every store of secrets in the database. A new kind of stored secret (OAuth tokens, client
secrets) joins with its own store function, added here."""


async def rotate_secrets(
    db: Database, box: SecretBox, stores: Sequence[SecretStore] = STORES
) -> list[Rotated]:
    """Run every store's rotation, in order; what each did."""
    return [await store(db, box) for store in stores]
