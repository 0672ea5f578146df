"""The query cache: normalised question + schema hash + provider + model -> SQL, in ``query_cache``.

A hit means no provider call: a rerun of a notebook gets the same SQL. ``--fresh`` replaces the entry.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

from paysql_magic.connection import create_if_missing

CACHE_TABLE = "query_cache"

CACHE_DDL = f"""
CREATE TABLE IF NOT EXISTS {CACHE_TABLE} (
    question_key text NOT NULL,
    schema_hash text NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    sql text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_key, schema_hash, provider, model)
)
"""


def normalize(question: str) -> str:
    """Case, whitespace and trailing punctuation do not make a new question."""
    return re.sub(r"\s+", " ", question.lower()).strip().rstrip("?!. ")


def ensure_table(conn: Connection) -> None:
    """Create ``query_cache`` if it does not exist (the caller commits)."""
    conn.execute(text(CACHE_DDL))


def _key(question: str, schema_hash: str, provider: str, model: str | None) -> dict[str, str]:
    return {"q": normalize(question), "h": schema_hash, "p": provider, "m": model or ""}


def lookup(engine: Engine, question: str, schema_hash: str, provider: str, model: str | None) -> str | None:
    """The cached SQL for this question, schema, provider and model, if any."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": CACHE_TABLE}).scalar() is None:
            return None
        return conn.execute(
            text(
                f"SELECT sql FROM {CACHE_TABLE} "
                "WHERE question_key = :q AND schema_hash = :h AND provider = :p AND model = :m"
            ),
            _key(question, schema_hash, provider, model),
        ).scalar()


def store(engine: Engine, question: str, schema_hash: str, provider: str, model: str | None, sql: str) -> None:
    """Remember ``sql`` for this key, replacing an older entry."""
    with engine.begin() as conn:
        create_if_missing(conn, CACHE_TABLE, ensure_table)
        conn.execute(
            text(
                f"INSERT INTO {CACHE_TABLE} (question_key, schema_hash, provider, model, sql) "
                "VALUES (:q, :h, :p, :m, :sql) ON CONFLICT (question_key, schema_hash, provider, model) "
                "DO UPDATE SET sql = EXCLUDED.sql, updated_at = now()"
            ),
            {**_key(question, schema_hash, provider, model), "sql": sql},
        )
