"""Execution accuracy: does a predicted result answer like the gold one (the question set's judging rules).

Gold and predicted results match when every gold column can be paired with a distinct predicted column (extra
predicted columns are allowed) so that the rows, as tuples of the paired columns, are equal: in order when the
question is ordered (rows whose sort key ties may come in any order), as multisets otherwise. NULL equals only
NULL; numbers are equal within 0.005; a date equals a timestamp at midnight of that date in the database time
zone (timestamps arrive in the session's time zone, which is the database's); anything else must be exactly equal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

import sqlglot
from sqlalchemy import Engine, text
from sqlglot import exp

TOLERANCE = 0.005


@dataclass(frozen=True)
class Rows:
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]

    def column(self, i: int) -> list[object]:
        return [row[i] for row in self.rows]


def fetch(engine: Engine, sql: str) -> Rows:
    """Run ``sql`` and return its columns and rows."""
    with engine.connect() as conn:
        result = conn.execute(text(sql))
        return Rows(tuple(result.keys()), tuple(tuple(row) for row in result))


def _number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _as_date(value: object) -> dt.date | None:
    """A date, or the date of a timestamp at midnight in the database time zone; None otherwise."""
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else None
    return value if isinstance(value, dt.date) else None


def equal(a: object, b: object) -> bool:
    """Value equality under the judging rules."""
    if a is None or b is None:
        return a is None and b is None
    if _number(a) and _number(b):
        return abs(float(a) - float(b)) <= TOLERANCE
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b
    if isinstance(a, dt.date) and isinstance(b, dt.date):
        return _as_date(a) is not None and _as_date(a) == _as_date(b)
    return not (_number(a) or _number(b)) and a == b


def _key(value: object) -> tuple:
    """A sort key that puts equal values next to each other."""
    if value is None:
        return (0, "")
    if _number(value):
        return (1, round(float(value), 2))
    if isinstance(value, dt.date):
        return (2, str(_as_date(value) or value))
    return (3, str(value))


def _same_multiset(a: Sequence[tuple], b: Sequence[tuple]) -> bool:
    if len(a) != len(b):
        return False
    ordered_a = sorted(a, key=lambda row: [_key(v) for v in row])
    ordered_b = sorted(b, key=lambda row: [_key(v) for v in row])
    return all(all(map(equal, x, y)) for x, y in zip(ordered_a, ordered_b, strict=True))


def order_columns(gold_sql: str, columns: Sequence[str]) -> list[int]:
    """Indexes of the gold columns its ORDER BY sorts on (empty when they cannot be told)."""
    order = sqlglot.parse_one(gold_sql, dialect="postgres").args.get("order")
    if order is None:
        return []
    names = [o.this.alias_or_name for o in order.expressions if isinstance(o.this, exp.Column | exp.Identifier)]
    if len(names) != len(order.expressions) or not set(names) <= set(columns):
        return []
    return [list(columns).index(n) for n in names]


def _same_rows(gold: list[tuple], predicted: list[tuple], ordered: bool, ties: list[int]) -> bool:
    if len(gold) != len(predicted):
        return False
    if not ordered:
        return _same_multiset(gold, predicted)
    if not ties:
        return all(all(map(equal, g, p)) for g, p in zip(gold, predicted, strict=True))
    start = 0
    for _, group in groupby(gold, key=lambda row: tuple(_key(row[i]) for i in ties)):
        block = list(group)
        if not _same_multiset(block, predicted[start : start + len(block)]):
            return False
        start += len(block)
    return True


def results_match(gold: Rows, predicted: Rows, ordered: bool, gold_sql: str = "") -> bool:
    """Whether ``predicted`` answers like ``gold`` (see the module docstring)."""
    if len(gold.rows) != len(predicted.rows):
        return False
    n = len(gold.columns)
    candidates = [
        [p for p in range(len(predicted.columns)) if _same_multiset(
            [(v,) for v in gold.column(g)], [(v,) for v in predicted.column(p)])]
        for g in range(n)
    ]  # fmt: skip
    ties = order_columns(gold_sql, gold.columns) if gold_sql else []

    def search(g: int, chosen: list[int]) -> bool:
        if g == n:
            rows = [tuple(row[p] for p in chosen) for row in predicted.rows]
            return _same_rows(list(gold.rows), rows, ordered, ties)
        return any(search(g + 1, [*chosen, p]) for p in candidates[g] if p not in chosen)

    return search(0, [])
