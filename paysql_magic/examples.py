"""Verified examples: question -> SQL pairs an analyst vouched for, and retrieval of the closest ones.

Only SQL an analyst reviewed becomes an example: ``%ask --verify`` (source ``verify``) or a query run from the
``%%ask --sql`` cell (source ``edited``). Unreviewed generated SQL never does. Retrieval is TF-IDF-weighted
token overlap (no network model). They live in ``paysql.verified_examples``; a reader lists and adds them through
``paysql.examples_list`` and ``paysql.examples_add`` only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from paysql_magic import pgtext, store
from paysql_magic.connection import connect, create_if_missing

EXAMPLES_TABLE = store.EXAMPLES  # the bare name (schema.py excludes it from introspection in any schema)
EXAMPLES_QUALIFIED = f"{store.SCHEMA}.{store.EXAMPLES}"
_LEGACY = f"{store.LEGACY_SCHEMA}.{EXAMPLES_TABLE}"
_LEGACY_DDL = store.EXAMPLES_DDL.replace(EXAMPLES_QUALIFIED, _LEGACY)

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Example:
    question: str
    sql: str


def tokens(value: str) -> list[str]:
    """Lower-case word tokens, each cut to its first 5 letters (a crude stem for Russian and English)."""
    return [t[:5] for t in _TOKEN.findall(value.lower())]


def ensure_table(conn: Connection) -> None:
    """Create paysql's schema with ``verified_examples`` if it does not exist (an admin; the caller commits)."""
    store.ensure(conn)


def add(engine: Engine, question: str, sql: str, source: str) -> None:
    """Store one verified pair (a repeat is ignored)."""
    params = {"q": pgtext.stored(question.strip()), "s": pgtext.stored(sql.strip()), "source": source}
    legacy = store.locate(engine).legacy
    with store.write_transaction(engine) as conn:
        if not legacy:
            conn.execute(text(f"SELECT {store.SCHEMA}.examples_add(:q, :s, :source)"), params)
            return
        create_if_missing(conn, _LEGACY, lambda c: c.exec_driver_sql(_LEGACY_DDL))
        conn.execute(
            text(
                f"INSERT INTO {_LEGACY} (question, sql, source) VALUES (:q, :s, :source) "
                "ON CONFLICT (question, sql) DO NOTHING"
            ),
            params,
        )


def load(engine: Engine) -> list[Example]:
    """Every verified example (none when there is no table yet)."""
    legacy = store.locate(engine).legacy
    with connect(engine) as conn:
        if not legacy:
            rows = conn.execute(text(f"SELECT question, sql FROM {store.SCHEMA}.examples_list()")).all()
        elif conn.execute(text("SELECT to_regclass(:t)"), {"t": _LEGACY}).scalar() is None:
            return []
        else:
            rows = conn.execute(text(f"SELECT question, sql FROM {_LEGACY} ORDER BY id")).all()
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
