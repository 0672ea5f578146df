"""The stored values of a model's dimensions: what the introspected schema sampled of each role's column, and the
names of small tables (merchants, cities) read from the database."""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlglot import exp

from paysql_magic.connection import connect
from paysql_magic.schema import Schema
from paysql_magic.semantic.model import SemanticModel, Value


def sampled(model: SemanticModel, schema: Schema) -> dict[str, tuple[object, ...]]:
    """Role -> the distinct values the schema holds for its column (low-cardinality columns only)."""
    found: dict[str, tuple[object, ...]] = {}
    for name, role in model.roles.items():
        table = schema.find(model.relation(role.relation).table)
        column = next((c for c in table.columns if c.name == role.column), None) if table else None
        if column is not None and column.values:
            found[name] = tuple(int(v) if role.numeric and str(v).lstrip("-").isdigit() else v for v in column.values)
    return found


_PEOPLE = ("customer", "card")  # their names and numbers are never read into the vocabulary
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
        and not model.is_personal(role.relation, role.column) and name not in _PEOPLE
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


def known_values(engine: Engine, model: SemanticModel, schema: Schema):
    """A check for plan values: None when ``value`` is stored in ``dimension``'s column (or is a meaning or a
    brand), else the nearest stored values (none when the column is too big to list)."""
    from paysql_magic.plans.compile import nearest

    have = sampled(model, schema)

    def check(dimension: str, value: str) -> list[str] | None:
        role = model.roles[dimension]
        stored = [str(v.value) for v in role.values] + [str(v) for v in have.get(dimension, ())]
        stored += [str(b.value) for b in role.brands]
        if stored:
            return None if value in stored else nearest(value, stored)
        table = model.relation(role.relation).table
        select = sqlglot.select(exp.Literal.number(1)).from_(exp.to_table(table))
        select = select.where(exp.column(role.column, quoted=True).eq(exp.Literal.string(value))).limit(1)
        try:
            with connect(engine) as conn:
                return None if conn.execute(text(select.sql("postgres"))).first() else []
        except SQLAlchemyError:
            return None  # cannot tell: the query itself will answer

    return check
