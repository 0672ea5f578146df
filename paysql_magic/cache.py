"""The query cache: normalised question + schema hash + provider + model -> SQL, in ``paysql.query_cache``.

A hit means no provider call: a rerun of a notebook gets the same SQL. ``--fresh`` replaces the entry. A reader
looks an entry up by its key and stores one through ``paysql.cache_get`` / ``paysql.cache_put``: it cannot list
the cache (every caller's questions). A database not migrated yet keeps its ``public.query_cache``.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

from paysql_magic import pgtext
from paysql_magic import store as _store
from paysql_magic.connection import autocommit, create_if_missing

CACHE_TABLE = _store.CACHE  # the bare name (schema.py excludes it from introspection in any schema)
CACHE_QUALIFIED = f"{_store.SCHEMA}.{_store.CACHE}"
_LEGACY = f"{_store.LEGACY_SCHEMA}.{CACHE_TABLE}"
_LEGACY_DDL = _store.CACHE_DDL.replace(CACHE_QUALIFIED, _LEGACY)


def normalize(question: str) -> str:
    """Case, whitespace and trailing punctuation do not make a new question."""
    return re.sub(r"\s+", " ", question.lower()).strip().rstrip("?!. ")


def ensure_table(conn: Connection) -> None:
    """Create paysql's schema with ``query_cache`` if it does not exist (an admin; the caller commits)."""
    _store.ensure(conn)


def _key(question: str, schema_hash: str, provider: str, model: str | None) -> dict[str, str]:
    parts = {"q": normalize(question), "h": schema_hash, "p": provider, "m": model or ""}
    return {name: pgtext.stored(value) for name, value in parts.items()}


def lookup(engine: Engine, question: str, schema_hash: str, provider: str, model: str | None) -> str | None:
    """The cached SQL for this question, schema, provider and model, if any (one round trip: no transaction)."""
    key = _key(question, schema_hash, provider, model)
    legacy = _store.locate(engine).legacy
    with autocommit(engine) as conn:
        if not legacy:
            return conn.execute(text(f"SELECT {_store.SCHEMA}.cache_get(:q, :h, :p, :m)"), key).scalar()
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": _LEGACY}).scalar() is None:
            return None
        return conn.execute(
            text(
                f"SELECT sql FROM {_LEGACY} "
                "WHERE question_key = :q AND schema_hash = :h AND provider = :p AND model = :m"
            ),
            key,
        ).scalar()


def store(engine: Engine, question: str, schema_hash: str, provider: str, model: str | None, sql: str) -> None:
    """Remember ``sql`` for this key, replacing an older entry."""
    params = {**_key(question, schema_hash, provider, model), "sql": pgtext.stored(sql)}
    legacy = _store.locate(engine).legacy
    with _store.write_transaction(engine) as conn:
        if not legacy:
            conn.execute(text(f"SELECT {_store.SCHEMA}.cache_put(:q, :h, :p, :m, :sql)"), params)
            return
        create_if_missing(conn, _LEGACY, lambda c: c.exec_driver_sql(_LEGACY_DDL))
        conn.execute(
            text(
                f"INSERT INTO {_LEGACY} (question_key, schema_hash, provider, model, sql) "
                "VALUES (:q, :h, :p, :m, :sql) ON CONFLICT (question_key, schema_hash, provider, model) "
                "DO UPDATE SET sql = EXCLUDED.sql, updated_at = now()"
            ),
            params,
        )
