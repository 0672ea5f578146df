"""The stored values of a model's dimensions: what the introspected schema sampled of each role's column."""

from __future__ import annotations

from paysql_magic.schema import Schema, Table
from paysql_magic.semantic.model import SemanticModel


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
