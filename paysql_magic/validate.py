"""Validation before a query runs: every table and column it names exists, and PostgreSQL can plan it.

``check_names`` compares the SQL with the introspected schema (tables are resolved here as PostgreSQL would,
qualified or through the search path, since sqlglot accepts unknown ones; sqlglot then qualifies the columns
against a ``{schema: {table: {column: type}}}`` mapping). ``explain`` runs a plain ``EXPLAIN`` (never ANALYZE)
through the read-only executor. Failures carry the closest real names (rapidfuzz), for the repair prompt.
"""

from __future__ import annotations

import re

import sqlglot
from rapidfuzz import fuzz, process
from sqlalchemy import Engine
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify

from paysql_magic import execute as executor
from paysql_magic.errors import ExecutionError
from paysql_magic.schema import Schema, Table

_UNRESOLVED = re.compile(r"Column '([^']+)' could not be resolved|Unknown column: (\S+)")  # bare, table.column
_RELATIVE_PERIOD = re.compile(
    r"\b(сегодня|вчера|today|yesterday|последн\w*|прошл\w*|текущ\w*|эт(?:от|ом|у|ой)\s+(?:недел|месяц|год)\w*|"
    r"last\s+\d*\s*(?:day|week|month|year)s?|this\s+(?:week|month|year)|past\s+\d+\s+days?)\b",
    re.IGNORECASE,
)
_DATE_LITERAL = re.compile(r"'\d{4}-\d{2}-\d{2}")


class ValidationError(ExecutionError):
    """The SQL names something the schema does not have, or PostgreSQL cannot plan it."""


def closest_names(name: str, schema: Schema, *, limit: int = 3) -> list[str]:
    """The real table and ``table.column`` names closest to ``name``, written as SQL should write them (qualified
    where the search path does not reach the table)."""
    bare = name.split(".")[-1]
    choices = {t.sql_name: t.name for t in schema.tables}
    choices.update({f"{t.sql_name}.{c.name}": c.name for t in schema.tables for c in t.columns})
    matches = process.extract(bare, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
    return [key for _, _, key in matches]


def _resolve_table(name: str, db: str, schema: Schema) -> Table | None:
    """The table a reference names, as PostgreSQL resolves it: ``db.name`` exactly; a bare ``name`` through the
    search path only (the table whose ``sql_name`` it is, else the first of its name in a search-path schema)."""
    if db:
        return next((t for t in schema.tables if t.schema == db and t.name == name), None)
    reachable = [t for t in schema.tables if t.name == name and (t.on_search_path or t.schema in schema.search_path)]
    reachable.sort(key=lambda t: (not t.on_search_path, _path_position(t.schema, schema)))
    return reachable[0] if reachable else None


def _path_position(name: str, schema: Schema) -> int:
    return schema.search_path.index(name) if name in schema.search_path else len(schema.search_path)


def _resolve_tables(tree: exp.Expression, schema: Schema) -> None:
    """Check every table the query reads and write its schema into the tree (so that sqlglot, given the nested
    mapping, knows which table's columns a bare name means); raise on a table the introspection did not see."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or (not table.db and table.name in ctes):
            continue
        found = _resolve_table(table.name, table.db, schema)
        if found is None:
            raise ValidationError(f"unknown table {(f'{table.db}.' if table.db else '') + table.name!r}")
        table.set("catalog", None)
        table.set("db", exp.to_identifier(found.schema))


def check_names(sql: str, schema: Schema) -> None:
    """Raise ``ValidationError`` when ``sql`` names a table or column that ``schema`` does not have.

    Tables are accepted as the introspection saw them: ``schema.table`` when it exists, a bare name only when the
    search path reaches it; views and materialized views like any table.
    """
    tree = normalize_identifiers(sqlglot.parse_one(sql, dialect="postgres"), dialect="postgres")
    _resolve_tables(tree, schema)
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for t in schema.tables:
        mapping.setdefault(t.schema, {})[t.name] = {c.name: c.type for c in t.columns}
    # names the query defines itself: output aliases, and table aliases of functions (unnest(...) AS x)
    defined = {a.alias for a in tree.find_all(exp.Alias)} | {
        name for a in tree.find_all(exp.TableAlias) for name in [a.name, *(c.name for c in a.columns)]
    }
    try:
        qualify(tree, schema=mapping, dialect="postgres", validate_qualify_columns=True)
    except OptimizeError as exc:
        match = _UNRESOLVED.search(str(exc))
        known_columns = {c.name for t in schema.tables for c in t.columns} | defined
        column = match and (match.group(1) or match.group(2))
        if column and column.split(".")[-1] not in known_columns:  # ambiguity: left to PostgreSQL
            raise ValidationError(f"unknown column {column!r}") from None
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
