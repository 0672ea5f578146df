"""Verified examples: question -> SQL pairs an analyst vouched for, and retrieval of the closest ones.

Only SQL an analyst reviewed becomes an example: ``%ask --verify`` (source ``verify``) or a query run from the
``%%ask --sql`` cell (source ``edited``). Unreviewed generated SQL never does. Retrieval is TF-IDF-weighted
token overlap (no network model).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from paysql_magic.connection import create_if_missing

EXAMPLES_TABLE = "verified_examples"

EXAMPLES_DDL = f"""
CREATE TABLE IF NOT EXISTS {EXAMPLES_TABLE} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question text NOT NULL,
    sql text NOT NULL,
    source text NOT NULL CHECK (source IN ('verify', 'edited')),
    created_at timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT session_user,
    UNIQUE (question, sql)
)
"""

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Example:
    question: str
    sql: str


def tokens(value: str) -> list[str]:
    """Lower-case word tokens, each cut to its first 5 letters (a crude stem for Russian and English)."""
    return [t[:5] for t in _TOKEN.findall(value.lower())]


def ensure_table(conn: Connection) -> None:
    """Create ``verified_examples`` if it does not exist (the caller commits)."""
    conn.execute(text(EXAMPLES_DDL))


def add(engine: Engine, question: str, sql: str, source: str) -> None:
    """Store one verified pair (a repeat is ignored)."""
    with engine.begin() as conn:
        create_if_missing(conn, EXAMPLES_TABLE, ensure_table)
        conn.execute(
            text(
                f"INSERT INTO {EXAMPLES_TABLE} (question, sql, source) VALUES (:q, :s, :source) "
                "ON CONFLICT (question, sql) DO NOTHING"
            ),
            {"q": question.strip(), "s": sql.strip(), "source": source},
        )


def load(engine: Engine) -> list[Example]:
    """Every verified example (none when the table does not exist yet)."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": EXAMPLES_TABLE}).scalar() is None:
            return []
        rows = conn.execute(text(f"SELECT question, sql FROM {EXAMPLES_TABLE} ORDER BY id")).all()
    return [Example(r.question, r.sql) for r in rows]


def retrieve(question: str, examples: list[Example], k: int = 3) -> list[Example]:
    """The ``k`` examples whose questions share the most (IDF-weighted) tokens with ``question``."""
    if k <= 0 or not examples:
        return []
    docs = [set(tokens(e.question)) for e in examples]
    df = Counter(t for doc in docs for t in doc)
    wanted = set(tokens(question))

    def score(doc: set[str]) -> float:
        return sum(math.log(1 + len(docs) / df[t]) for t in doc & wanted)

    scored = sorted(((score(doc), i) for i, doc in enumerate(docs)), key=lambda p: (-p[0], p[1]))
    return [examples[i] for s, i in scored[:k] if s > 0]
