"""Does the database still match the model? Every relation, column and join key a model names must exist; a
model made for another database is never applied to this one by accident."""

from __future__ import annotations

from paysql_magic.errors import ModelError
from paysql_magic.schema import Schema
from paysql_magic.semantic.model import SemanticModel

FIX = "run paysql init --update (it keeps your edits)"


def _columns(model: SemanticModel) -> dict[str, set[str]]:
    """Relation alias -> the columns the model reads from it."""
    used: dict[str, set[str]] = {r.alias: set() for r in model.relations}
    used[model.fact.alias] |= {model.time, *([model.amount] if model.amount else [])}
    for relation in model.relations:
        if relation.time:
            used[relation.alias].add(relation.time)
    for edge in model.edges:
        used[edge.parent].add(edge.left)
        used[edge.child].add(edge.right)
    for role in model.roles.values():
        used[role.relation] |= {role.column, *([role.key] if role.key else [])}
    return used


def check(model: SemanticModel, schema: Schema, database: str | None) -> None:
    """Raise ModelError (one line) when ``model`` was made for another database or names what it lacks."""
    source = model.source or "the semantic model"
    if model.database and database and model.database != database:
        raise ModelError(
            f"{source} describes database {model.database!r}, not {database!r}: pass the right --semantic-model "
            "(Ask.semantic_model), or draft one for this database with paysql init"
        )
    for alias, columns in _columns(model).items():
        relation = model.relation(alias)
        table = schema.find(relation.table)
        if table is None:
            raise ModelError(f"{source}: table {relation.table} is not in the database (or not readable); {FIX}")
        have = {c.name for c in table.columns}
        missing = sorted(c for c in columns if c.isidentifier() and c not in have)
        if missing:
            raise ModelError(f"{source}: column {relation.table}.{missing[0]} is not in the database; {FIX}")


def stale_values(model: SemanticModel, schema: Schema) -> list[str]:
    """Values the model lists that the database's low-cardinality columns no longer hold ("status 'REFUND'"):
    a note, not an error (a question naming one finds no rows)."""
    gone = []
    for name, role in model.roles.items():
        table = schema.find(model.relation(role.relation).table)
        column = next((c for c in table.columns if c.name == role.column), None) if table else None
        if column is None or not column.values or len(column.values) >= 20:  # all of its values are known
            continue
        have = {str(v) for v in column.values}
        gone += [f"{name} {v.value!r}" for v in role.values if str(v.value) not in have]
    return gone
