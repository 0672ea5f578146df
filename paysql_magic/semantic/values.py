"""The stored values of a model's dimensions: what the introspected schema sampled of each role's column, and the
names of small tables (merchants, cities) read from the database."""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlglot import exp

from paysql_magic.connection import connect
from paysql_magic.egress import is_personal
from paysql_magic.schema import Schema, Table
from paysql_magic.semantic.model import SemanticModel, Value


def _table(schema: Schema, name: str) -> Table | None:
    bare = name.split(".")[-1]
    exact = [t for t in schema.tables if name in (t.name, getattr(t, "qualified", t.name), getattr(t, "sql_name", ""))]
    return (exact or [t for t in schema.tables if t.name == bare] or [None])[0]


def sampled(model: SemanticModel, schema: Schema) -> dict[str, tuple[object, ...]]:
    """Role -> the distinct values the schema holds for its column (low-cardinality columns only)."""
    found: dict[str, tuple[object, ...]] = {}
    for name, role in model.roles.items():
        table = _table(schema, model.relation(role.relation).table)
        column = next((c for c in table.columns if c.name == role.column), None) if table else None
        if column is not None and column.values:
            found[name] = tuple(int(v) if role.numeric and str(v).lstrip("-").isdigit() else v for v in column.values)
    return found


MAX_READ_ROWS = 20_000  # a table this small has its names read (merchants, cities); a bigger one is never scanned
MAX_NAMES = 2_000


def _names_sql(table: str, column: str) -> str:
    select = sqlglot.select(exp.column(column, quoted=True)).distinct().from_(exp.to_table(table))
    return select.where(exp.column(column, quoted=True).is_(exp.null()).not_()).limit(MAX_NAMES + 1).sql("postgres")


def with_database_values(engine: Engine, model: SemanticModel, schema: Schema) -> SemanticModel:
    """``model`` with the stored values of its small name columns (a company's merchant names, a lookup of
    cities) added to roles that list none and have none sampled: the words the offline provider may meet.
    Personal columns are never read; nothing leaves the machine."""
    have = sampled(model, schema)
    wanted = {
        name: role
        for name, role in model.roles.items()
        if not role.values and not role.brands and name not in have and not role.numeric
        and not model.is_personal(role.relation, role.column) and not is_personal(role.column)
    }  # fmt: skip
    if not wanted:
        return model
    roles = dict(model.roles)
    try:
        with connect(engine) as conn:
            for name, role in wanted.items():
                table = model.relation(role.relation).table
                size = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table})
                rows = size.scalar()
                if rows is None or rows > MAX_READ_ROWS:
                    continue
                found = [r[0] for r in conn.execute(text(_names_sql(table, role.column)))]
                if 0 < len(found) <= MAX_NAMES and all(isinstance(v, str) for v in found):
                    roles[name] = replace(role, values=tuple(Value(v) for v in sorted(found)))
    except SQLAlchemyError:  # the names are a convenience: without them, the words are only the model's
        return model
    return replace(model, roles=roles)
