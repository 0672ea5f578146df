"""Notebook variables in questions: ``{name}`` takes the value of ``name`` from the notebook.

A value never reaches the SQL as text. The provider writes a parameter (``:name``) where the value belongs, and
``bind`` replaces each parameter with a literal built by sqlglot from the typed value (a string holding
``'; DROP TABLE`` becomes one quoted string), before the guard checks the whole statement. Supported values:
strings, numbers, dates and timestamps, and non-empty lists of one of those (``city IN {cities}``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

import sqlglot
import sqlglot.errors
from sqlglot import exp

from paysql_magic.errors import ConfigError, SqlRefused

Scalar = str | int | float | Decimal | date | datetime
Value = Scalar | tuple[Scalar, ...]

REFERENCE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")  # {name}, not {{name}}


def names(question: str) -> list[str]:
    """The variables a question refers to, in order of first use."""
    return list(dict.fromkeys(REFERENCE.findall(question)))


def resolve(text: str, namespace: Mapping[str, object], found: Callable[[str], list[str]] = names) -> dict[str, Value]:
    """The typed values of the variables ``text`` refers to (``{name}`` in a question; ``parameters`` for
    ``:name`` in SQL); ConfigError names a missing or unusable one. The rest of ``namespace`` is not read."""
    values: dict[str, Value] = {}
    for name in found(text):
        if name not in namespace:
            raise ConfigError(f"{{{name}}} is used, but the notebook has no variable {name!r}")
        values[name] = typed(name, namespace[name])
    return values


def typed(name: str, value: object) -> Value:
    """``value`` as a parameter value: a scalar, or a tuple of scalars of one kind."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return _scalar(name, value)
    items = tuple(_scalar(name, item) for item in value)
    if not items:
        raise ConfigError(f"{{{name}}} is an empty list: a filter on no values matches nothing")
    if len({_kind(item) for item in items}) > 1:
        raise ConfigError(f"{{{name}}} mixes kinds of values: use a list of only strings, numbers or dates")
    return items


def _scalar(name: str, value: object) -> Scalar:
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{{{name}}} is {value!r}: use a string, a number, a date or a list of those")
    if isinstance(value, int | Decimal | float):
        if isinstance(value, float | Decimal) and not math.isfinite(value):
            raise ConfigError(f"{{{name}}} is {value}: only finite numbers can be used")
        return value
    if isinstance(value, str | date):
        return value
    raise ConfigError(f"{{{name}}} is a {type(value).__name__}: use a string, a number, a date or a list of those")


def _kind(value: Scalar) -> str:
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, date):
        return "date"
    return "text" if isinstance(value, str) else "number"


def kind(value: Value) -> str:
    """How the prompt describes the value: text, number, date, timestamp, or a list of one of those."""
    return f"list of {_kind(value[0])}" if isinstance(value, tuple) else _kind(value)


def describe(values: Mapping[str, Value]) -> str:
    """The parameters for a language model: name, kind and value, one per line."""
    return "\n".join(f"- :{name} ({kind(value)}) = {_shown(value)}" for name, value in values.items())


def _shown(value: Value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    return repr(value.isoformat() if isinstance(value, date) else value)


def as_parameters(question: str) -> str:
    """The question as a language model sees it: ``{name}`` becomes the parameter ``:name``."""
    return REFERENCE.sub(r":\1", question)


def fingerprint(values: Mapping[str, Value]) -> str:
    """A stable text of the values: part of the query cache key, so other values mean other SQL."""
    return json.dumps({name: _shown(value) for name, value in sorted(values.items())}, ensure_ascii=False)


def literal(value: Value) -> exp.Expression:
    """The SQL literal of a value, built by sqlglot (strings quoted and escaped, dates and timestamps cast)."""
    if isinstance(value, tuple):
        return exp.Array(expressions=[literal(item) for item in value])
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat()), "timestamptz" if value.tzinfo else "timestamp")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "date")
    if isinstance(value, str):
        return exp.Literal.string(value)
    return exp.Literal.number(str(value))


def parameters(sql: str) -> list[str]:
    """The names of the ``:name`` parameters in ``sql`` (none when it does not parse)."""
    if ":" not in sql and "%(" not in sql:
        return []
    try:
        trees = sqlglot.parse(sql, read="postgres")
    except sqlglot.errors.SqlglotError:
        return []
    found = (p.name for tree in trees if tree is not None for p in tree.find_all(exp.Placeholder))
    return list(dict.fromkeys(name for name in found if name))


def bind(sql: str, values: Mapping[str, Value]) -> str:
    """``sql`` with every ``:name`` replaced by the literal of its value; SqlRefused for an unknown name.

    SQL without parameters, or that does not parse as one statement, is returned unchanged: the guard judges it.
    """
    if ":" not in sql and "%(" not in sql:
        return sql
    try:
        trees = [tree for tree in sqlglot.parse(sql, read="postgres") if tree is not None]
    except sqlglot.errors.SqlglotError:
        return sql
    if len(trees) != 1 or trees[0].find(exp.Placeholder) is None:
        return sql
    return _bound(trees[0], values).sql(dialect="postgres")


def _bound(tree: exp.Expression, values: Mapping[str, Value]) -> exp.Expression:
    for placeholder in list(tree.find_all(exp.Placeholder)):
        name = placeholder.name
        if not name or name not in values:
            known = ", ".join(f":{n}" for n in values) or "none"
            raise SqlRefused(f"the SQL uses the parameter :{name or '?'}, which no notebook variable gives ({known})")
        value = values[name]
        parent = placeholder.parent
        if isinstance(value, tuple) and isinstance(parent, exp.In) and parent.args.get("field") is placeholder:
            parent.set("field", None)
            parent.set("expressions", [literal(item) for item in value])
        elif isinstance(parent, exp.Cast) and literal(value).sql() == exp.cast(literal(value), parent.to).sql():
            parent.replace(literal(value))  # CAST(:day AS DATE) with a date: one cast, not two
        else:
            placeholder.replace(literal(value))
    return tree
