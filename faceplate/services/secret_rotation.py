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
from faceplate.queries import sealed as sealed_q
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
    """MCP configs: header and env values, and a pre-registered OAuth client's secret. One
    short statement per config."""
    done = Rotated(store="MCP config header and env values, OAuth client secrets")
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


def _rotated(box: SecretBox, values: Sequence[str | None]) -> tuple[list[str | None], list[int]]:
    """`values` encrypted anew with the first key (None stays None), and the positions of those
    no key decrypts (left as they are)."""
    out: list[str | None] = []
    unreadable: list[int] = []
    for position, value in enumerate(values):
        rotated = None if value is None else box.rotate(value)
        if value is not None and rotated is None:
            unreadable.append(position)
        out.append(value if rotated is None else rotated)
    return out, unreadable


async def rotate_oauth_grants(db: Database, box: SecretBox) -> Rotated:
    """Each config's OAuth grant: its client secret, access and refresh tokens."""
    done = Rotated(store="OAuth grants of MCP configs (client secrets and tokens)")
    fields = ("client_secret", "access_token", "refresh_token")
    after: UUID | None = None
    while True:
        async with db.connection() as conn:
            rows = await sealed_q.list_sealed_mcp_oauth(conn, after_config_id=after, limit=_BATCH)
        for row in rows:
            read = (row.client_secret, row.access_token, row.refresh_token)
            (secret, access, refresh), unreadable = _rotated(box, read)
            done.unreadable.extend(f"{row.config_id} oauth {fields[i]}" for i in unreadable)
            async with db.connection() as conn:
                written = await sealed_q.update_mcp_oauth_secrets(
                    conn,
                    config_id=row.config_id,
                    read_client_secret=row.client_secret,
                    read_access_token=row.access_token,
                    read_refresh_token=row.refresh_token,
                    client_secret=secret,
                    access_token=access,
                    refresh_token=refresh,
                )
            _count(done, written, read, unreadable)
        if len(rows) < _BATCH:
            return done
        after = rows[-1].config_id


async def rotate_oauth_clients(db: Database, box: SecretBox) -> Rotated:
    """Clients registered with authorization servers: their secrets."""
    done = Rotated(store="registered OAuth clients (client secrets)")
    after: tuple[str, str] | None = None
    while True:
        async with db.connection() as conn:
            rows = await sealed_q.list_sealed_oauth_clients(
                conn,
                after_issuer=None if after is None else after[0],
                after_redirect_uri=None if after is None else after[1],
                limit=_BATCH,
            )
        for row in rows:
            (secret,), unreadable = _rotated(box, (row.client_secret,))
            if unreadable:
                done.unreadable.append(f"{row.issuer} {row.redirect_uri} client_secret")
            assert secret is not None
            async with db.connection() as conn:
                written = await sealed_q.update_oauth_client_secret(
                    conn,
                    issuer=row.issuer,
                    redirect_uri=row.redirect_uri,
                    read_client_secret=row.client_secret,
                    client_secret=secret,
                )
            _count(done, written, (row.client_secret,), unreadable)
        if len(rows) < _BATCH:
            return done
        after = (rows[-1].issuer, rows[-1].redirect_uri)


async def rotate_oauth_states(db: Database, box: SecretBox) -> Rotated:
    """Authorizations under way: their PKCE verifiers and client secrets."""
    done = Rotated(store="pending OAuth authorizations (verifiers, client secrets)")
    fields = ("code_verifier", "client_secret")
    after: bytes | None = None
    while True:
        async with db.connection() as conn:
            rows = await sealed_q.list_sealed_oauth_states(
                conn, after_state_hash=after, limit=_BATCH
            )
        for row in rows:
            read = (row.code_verifier, row.client_secret)
            (verifier, secret), unreadable = _rotated(box, read)
            done.unreadable.extend(f"{row.state_hash.hex()} {fields[i]}" for i in unreadable)
            assert verifier is not None
            async with db.connection() as conn:
                written = await sealed_q.update_oauth_state_secrets(
                    conn,
                    state_hash=row.state_hash,
                    read_code_verifier=row.code_verifier,
                    read_client_secret=row.client_secret,
                    code_verifier=verifier,
                    client_secret=secret,
                )
            _count(done, written, read, unreadable)
        if len(rows) < _BATCH:
            return done
        after = rows[-1].state_hash


def _count(
    done: Rotated, written: int, read: Sequence[str | None], unreadable: Sequence[int]
) -> None:
    if written:
        done.values += sum(value is not None for value in read) - len(unreadable)
    else:
        done.changed_meanwhile += 1


STORES: Final[tuple[SecretStore, ...]] = (
    rotate_mcp_configs,
    rotate_oauth_grants,
    rotate_oauth_clients,
    rotate_oauth_states,
)
"""Every store of secrets in the database. A new kind of stored secret joins with its own store
function (a batched read, then a write-back conditioned on the row being as read), added here."""


async def rotate_secrets(
    db: Database, box: SecretBox, stores: Sequence[SecretStore] = STORES
) -> list[Rotated]:
    """Run every store's rotation, in order; what each did."""
    return [await store(db, box) for store in stores]
