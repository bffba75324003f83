from __future__ import annotations

from typing import Any

import psycopg
import pytest

from faceplate import migrate

# The seed's schema, column for column, plus messages.finish_reason.
SEED_COLUMNS = {
    "users": [
        ("id", "uuid", None, "NO"),
        ("email", "character varying", 255, "NO"),
        ("subject_id", "character varying", 255, "NO"),
        ("created_at", "timestamp with time zone", None, "NO"),
    ],
    "conversations": [
        ("id", "uuid", None, "NO"),
        ("user_id", "uuid", None, "NO"),
        ("title", "character varying", 255, "YES"),
        ("created_at", "timestamp with time zone", None, "NO"),
        ("updated_at", "timestamp with time zone", None, "NO"),
    ],
    "messages": [
        ("id", "uuid", None, "NO"),
        ("conversation_id", "uuid", None, "NO"),
        ("role", "character varying", 20, "NO"),
        ("content", "text", None, "NO"),
        ("tool_calls", "jsonb", None, "YES"),
        ("tool_results", "jsonb", None, "YES"),
        ("created_at", "timestamp with time zone", None, "NO"),
        ("finish_reason", "character varying", 20, "YES"),
    ],
    "mcp_configs": [
        ("id", "uuid", None, "NO"),
        ("user_id", "uuid", None, "NO"),
        ("name", "character varying", 100, "NO"),
        ("config", "jsonb", None, "NO"),
        ("enabled", "boolean", None, "NO"),
        ("created_at", "timestamp with time zone", None, "NO"),
        ("updated_at", "timestamp with time zone", None, "NO"),
    ],
}


def _columns(url: str) -> dict[str, list[tuple[str, str, int | None, str]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.table_name, c.column_name, c.data_type, c.character_maximum_length,"
            " c.is_nullable FROM information_schema.columns AS c"
            " WHERE c.table_schema = 'faceplate' ORDER BY c.table_name, c.ordinal_position"
        ).fetchall()
    tables: dict[str, list[tuple[str, str, int | None, str]]] = {}
    for table, column, data_type, length, nullable in rows:
        tables.setdefault(table, []).append((column, data_type, length, nullable))
    return tables


def _cascades(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tc.table_name, rc.delete_rule"
            " FROM information_schema.table_constraints AS tc"
            " JOIN information_schema.referential_constraints AS rc"
            "   ON rc.constraint_name = tc.constraint_name"
            " WHERE tc.table_schema = 'faceplate' AND tc.constraint_type = 'FOREIGN KEY'"
        ).fetchall()
    return {(t, rule) for t, rule in rows}


# Columns later migrations add to the seed's tables, after the seed's own (never in between).
ADDED_COLUMNS = {
    "conversations": [
        ("active_message_id", "uuid", None, "YES"),
        ("model", "character varying", 255, "YES"),
        ("archived", "boolean", None, "NO"),
    ],
    "messages": [
        ("parent_id", "uuid", None, "YES"),
        ("depth", "integer", None, "NO"),
        ("model", "character varying", 255, "YES"),
        ("usage", "jsonb", None, "YES"),
        ("jump_id", "uuid", None, "YES"),
    ],
    "mcp_configs": [
        ("tool_approval", "character varying", 10, "NO"),
        ("tool_policies", "jsonb", None, "NO"),
    ],
}


def _seed(tables: dict[str, list[tuple[str, str, int | None, str]]]) -> dict[str, Any]:
    """The seed's tables as migrated, less the columns later migrations add after the seed's."""
    seed: dict[str, Any] = {}
    for name, columns in tables.items():
        if name not in SEED_COLUMNS:
            continue
        added = ADDED_COLUMNS.get(name, [])
        assert columns[len(columns) - len(added) :] == added, name
        seed[name] = columns[: len(columns) - len(added)]
    return seed


def test_apply_gives_exactly_the_seed_tables(empty_database_url: str) -> None:
    migrate.apply(empty_database_url)
    assert _seed(_columns(empty_database_url)) == SEED_COLUMNS


def test_foreign_keys_cascade(empty_database_url: str) -> None:
    migrate.apply(empty_database_url)
    cascades = _cascades(empty_database_url)
    assert {("conversations", "CASCADE"), ("messages", "CASCADE"), ("mcp_configs", "CASCADE")} <= (
        cascades
    )
    # The one pointer that does not own what it points at: a conversation's active message.
    assert {rule for _, rule in cascades} == {"CASCADE", "SET NULL"}
    assert {t for t, rule in cascades if rule == "SET NULL"} == {"conversations"}


def test_apply_rollback_apply(empty_database_url: str) -> None:
    applied = migrate.apply(empty_database_url)
    assert applied and all(done for _, done in migrate.status(empty_database_url))
    assert migrate.rollback(empty_database_url, all=True) == list(reversed(applied))
    assert _columns(empty_database_url) == {}
    assert not any(done for _, done in migrate.status(empty_database_url))
    assert migrate.apply(empty_database_url) == applied
    assert _seed(_columns(empty_database_url)) == SEED_COLUMNS


def test_role_check_rejects_unknown_roles(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO faceplate.users (id, email, subject_id)"
            " VALUES ('00000000-0000-7000-8000-000000000001', 'a@x.io', 's')"
        )
        conn.execute(
            "INSERT INTO faceplate.conversations (id, user_id)"
            " VALUES ('00000000-0000-7000-8000-000000000002',"
            " '00000000-0000-7000-8000-000000000001')"
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO faceplate.messages (id, conversation_id, role)"
                " VALUES ('00000000-0000-7000-8000-000000000003',"
                " '00000000-0000-7000-8000-000000000002', 'robot')"
            )


def test_migration_ids_match_what_yoyo_applies(empty_database_url: str) -> None:
    assert set(migrate.apply(empty_database_url)) == migrate.migration_ids()
