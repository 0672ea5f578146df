"""Validation before a query runs: every table and column it names exists, and PostgreSQL can plan it.

``check_names`` compares the SQL with the introspected schema (sqlglot qualifies the columns; tables are
checked here, since sqlglot accepts unknown ones). ``explain`` runs a plain ``EXPLAIN`` (never ANALYZE)
through the read-only executor. Failures carry the closest real names (rapidfuzz), for the repair prompt.
"""

from __future__ import annotations

import re

import sqlglot
from rapidfuzz import fuzz, process
from sqlalchemy import Engine
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from paysql_magic import execute as executor
from paysql_magic.errors import ExecutionError
from paysql_magic.schema import Schema

_UNRESOLVED = re.compile(r"Column '([^']+)' could not be resolved")
_RELATIVE_PERIOD = re.compile(
    r"\b(сегодня|вчера|today|yesterday|последн\w*|прошл\w*|текущ\w*|эт(?:от|ом|у|ой)\s+(?:недел|месяц|год)\w*|"
    r"last\s+\d*\s*(?:day|week|month|year)s?|this\s+(?:week|month|year)|past\s+\d+\s+days?)\b",
    re.IGNORECASE,
)
_DATE_LITERAL = re.compile(r"'\d{4}-\d{2}-\d{2}")


class ValidationError(ExecutionError):
    """The SQL names something the schema does not have, or PostgreSQL cannot plan it."""


def closest_names(name: str, schema: Schema, *, limit: int = 3) -> list[str]:
    """The real table and ``table.column`` names closest to ``name``."""
    bare = name.split(".")[-1]
    choices = {t.name: t.name for t in schema.tables}
    choices.update({f"{t.name}.{c.name}": c.name for t in schema.tables for c in t.columns})
    matches = process.extract(bare, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
    return [key for _, _, key in matches]


def check_names(sql: str, schema: Schema) -> None:
    """Raise ``ValidationError`` when ``sql`` names a table or column that ``schema`` does not have."""
    tree = sqlglot.parse_one(sql, dialect="postgres")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    known = {t.name for t in schema.tables}
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Identifier) and table.name not in ctes | known:
            raise ValidationError(f"unknown table {table.name!r}")
    mapping = {t.name: {c.name: c.type for c in t.columns} for t in schema.tables}
    # names the query defines itself: output aliases, and table aliases of functions (unnest(...) AS x)
    defined = {a.alias for a in tree.find_all(exp.Alias)} | {
        name for a in tree.find_all(exp.TableAlias) for name in [a.name, *(c.name for c in a.columns)]
    }
    try:
        qualify(tree, schema=mapping, dialect="postgres", validate_qualify_columns=True)
    except OptimizeError as exc:
        match = _UNRESOLVED.search(str(exc))
        known_columns = {c.name for t in schema.tables for c in t.columns} | defined
        if match and match.group(1).split(".")[-1] not in known_columns:  # ambiguity: left to PostgreSQL
            raise ValidationError(f"unknown column {match.group(1)!r}") from None
    except Exception:  # sqlglot cannot qualify everything PostgreSQL accepts: EXPLAIN has the last word
        return


def check_dates(question: str, sql: str) -> None:
    """A relative period ("today", "за последние 7 дней") must be current_date-relative, never a date literal."""
    if _RELATIVE_PERIOD.search(question) and _DATE_LITERAL.search(sql):
        raise ValidationError(
            "the question names a relative period but the SQL has a date literal: use current_date-relative SQL"
        )


def explain(engine: Engine, sql: str, *, timeout_s: float, allow_superuser: bool) -> None:
    """Let PostgreSQL parse and plan ``sql`` (plain EXPLAIN in a read-only transaction); raise on failure."""
    try:
        executor.run_query(
            engine, f"EXPLAIN {sql}", timeout_s=timeout_s, max_rows=None, allow_superuser=allow_superuser
        )
    except ExecutionError as exc:
        raise ValidationError(str(exc)) from None


def hint(error: str, schema: Schema) -> list[str]:
    """The closest real names to whatever name the error message quotes."""
    quoted = re.findall(r'"([^"]+)"|\'([^\']+)\'', error)
    names = [a or b for a, b in quoted if (a or b) and not (a or b).startswith(" ")]
    return sorted({n for name in names[:2] for n in closest_names(name, schema)})
