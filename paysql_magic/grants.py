"""Least privilege: the statements that make a role read the analysed tables and use paysql's own tables, nothing
else. The demo database's reader and a production role are granted by the same function."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from paysql_magic import audit, cache, examples

OWN_TABLES = (audit.AUDIT_TABLE, cache.CACHE_TABLE, examples.EXAMPLES_TABLE)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def readonly_statements(role: str, database: str, tables: Sequence[str]) -> list[str]:
    """SQL that creates ``role`` if missing and lets it SELECT ``tables`` (schema public), append to the audit log
    and keep the query cache and verified examples: no UPDATE/DELETE on the audit log, no CREATE, no signals."""
    r, db = quote_ident(role), quote_ident(database)
    analysed = ", ".join(quote_ident(t) for t in tables)
    own = f"{cache.CACHE_TABLE}, {examples.EXAMPLES_TABLE}"
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {quote_literal(role)}) "
        f"THEN CREATE ROLE {r}; END IF; END $$",
        f"ALTER ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {r}",
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM PUBLIC, {r}",
        f"GRANT CONNECT ON DATABASE {db} TO {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        *([f"GRANT SELECT ON {analysed} TO {r}"] if tables else []),
        f"REVOKE ALL ON {audit.AUDIT_TABLE} FROM {r}",
        f"GRANT INSERT, SELECT ON {audit.AUDIT_TABLE} TO {r}",
        f"REVOKE ALL ON {own} FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE ON {own} TO {r}",
        # any role may signal its own sessions: without this, one reader could kill every other reader's session
        "REVOKE EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint), pg_cancel_backend(integer) FROM PUBLIC",
    ]


def analysed_tables(conn: Connection) -> list[str]:
    """The tables of schema public, paysql's own excepted."""
    rows = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    ).scalars()
    return [name for name in rows if name not in OWN_TABLES]


def ensure_own_tables(conn: Connection) -> None:
    """Create (or upgrade) the audit log, the query cache and the verified examples, so they can be granted."""
    audit.ensure_table(conn)
    cache.ensure_table(conn)
    examples.ensure_table(conn)


def apply(conn: Connection, statements: Sequence[str]) -> None:
    """Run ``statements`` as an admin (the caller commits)."""
    for statement in statements:
        conn.exec_driver_sql(statement)
