"""The shapes beyond one grouped SELECT, built with sqlglot around ``builder.build``: two periods side by side,
growth over a series (``lag``), who had no payment (``NOT EXISTS``), and how many groups pass a threshold.

Shapes follow the business conventions: a comparison is one row with a column per period, the change and the
change in percent; growth is one row per bucket of the window asked for, each against the bucket before it.
"""

from __future__ import annotations

import calendar
from dataclasses import replace

import sqlglot
from sqlglot import exp

from paysql_magic.errors import Declined
from paysql_magic.providers.offline import builder
from paysql_magic.providers.offline.dates import window_conditions
from paysql_magic.providers.offline.intent import GROUP_THRESHOLDS, SERIES, Intent, Measure, Window
from paysql_magic.semantic.model import SemanticModel

_UNITS = {"day": "days", "week": "weeks", "month": "months"}


def _label(window: Window) -> str:
    """A column name for a period: today, yesterday, this_week, previous_month, last_7_days, october ..."""
    if window.kind in ("today", "yesterday", "day_before"):
        return window.kind
    if window.kind in ("this", "previous"):
        return f"{window.kind}_{window.unit}"
    if window.kind == "last":
        return (
            f"last_{window.n}_{_UNITS.get(window.unit, window.unit)}"
            if window.n > 1 or window.unit == "day"
            else (f"last_{window.unit}")
        )
    if window.kind == "prior":
        return f"prior_{window.n}_days"
    if window.kind == "month" and window.month:
        return calendar.month_name[window.month].lower()
    if window.kind == "year":
        return f"year_{window.year}"
    return window.kind


def _change(current: exp.Expression, previous: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    """current - previous, and ROUND(100.0 * (current - previous) / NULLIF(previous, 0), 2)."""
    delta = exp.Sub(this=current.copy(), expression=previous.copy())
    scaled = exp.Mul(this=exp.Literal.number("100.0"), expression=exp.Paren(this=delta.copy()))
    pct = exp.Div(this=scaled, expression=exp.func("nullif", previous.copy(), exp.Literal.number(0)), typed=True)
    return delta, exp.Anonymous(this="ROUND", expressions=[pct, exp.Literal.number(2)])


def _compared(model: SemanticModel, intent: Intent) -> exp.Select:
    """One row (or one per group), a column per period and measure, then the change of the first measure."""
    if any(m.kind == "share" or m.of_series for m in intent.measures) or intent.limit is not None:
        raise Declined("it compares counts, volumes and averages of two periods, not shares or rankings")
    first, second = intent.compare
    query = builder._Query(replace(intent, compare=()), model)
    select = sqlglot.select()
    select = builder._breakdown(query, select)
    for window in (first, second):
        inside = exp.and_(*window_conditions(window, query.time()))
        for measure in intent.measures:
            value = builder._aggregate(query, measure)
            value = exp.Filter(this=value, expression=exp.Where(this=inside.copy()))
            name = f"{_label(window)}_{measure.alias.removeprefix('total_')}"
            select = select.select(value.as_(name))
    if len(intent.measures) == 1:
        current, previous = (select.expressions[-2].this, select.expressions[-1].this)
        delta, pct = _change(current, previous)
        select = select.select(delta.as_("change"), pct.as_("change_pct"))
    select = query.from_(select)
    both = exp.or_(*(exp.and_(*window_conditions(w, query.time())) for w in (first, second)))
    conditions = [*builder.where(query, intent, None), exp.Paren(this=both)]
    select = select.where(exp.and_(*conditions))
    if intent.dimensions:
        select = select.order_by(*(exp.column(builder._output_name(model, d)) for d in intent.dimensions))
    return select


def _extended(window: Window | None) -> Window | None:
    """The window with one more bucket before it (growth reads the bucket before the first row)."""
    if window is None:
        return None
    if window.kind == "last":
        return replace(window, n=window.n + 1)
    raise Declined(
        "growth is read over the last N days, weeks or months", rephrase="Рост оборота по неделям за последние 8 недель"
    )


def _grown(model: SemanticModel, intent: Intent) -> exp.Select:
    """Each bucket with its measure, the change against the bucket before and the change in percent."""
    series = [d for d in intent.dimensions if d in SERIES]
    if len(series) != 1 or len(intent.measures) != 1 or intent.measures[0].kind == "share":
        raise Declined("growth is read for one measure over one series", rephrase="Изменение оборота по неделям")
    bucket, measure = series[0], intent.measures[0]
    others = [builder._output_name(model, d) for d in intent.dimensions if d != bucket]
    inner = builder.build(model, replace(intent, growth=False, window=_extended(intent.window), order=(), limit=None))
    value = exp.column(measure.alias, table="s")
    previous = exp.Window(
        this=exp.func("lag", value.copy()),
        partition_by=[exp.column(o, table="s") for o in others] or None,
        order=exp.Order(expressions=[exp.Ordered(this=exp.column(bucket, table="s"))]),
    )
    delta, pct = _change(value, previous)
    columns = [exp.column(bucket, table="s"), *(exp.column(o, table="s") for o in others), value]
    grown = sqlglot.select(*columns, delta.as_("change"), pct.as_("change_pct")).from_(inner.subquery("s"))
    select = sqlglot.select("*").from_(grown.subquery("g"))
    if intent.window is not None:
        select = select.where(exp.and_(*window_conditions(intent.window, exp.column(bucket, table="g"))))
    return select.order_by(*(exp.column(o) for o in others), exp.column(bucket))


def _absent(model: SemanticModel, intent: Intent) -> exp.Select:
    """The names of the merchants (customers ...) with no payment matching the window and the filters:
    ``SELECT name FROM merchants m WHERE <their own filters> AND NOT EXISTS (SELECT 1 FROM payments ...)``."""
    role = model.role(intent.absent)
    edges = model.path(model.fact.alias, role.relation) if role is not None else None
    if role is None or not edges:
        raise Declined(f"this database's semantic model has no {intent.absent} to list")
    reached = model.reachable(role.relation)

    def relation_of(field: str) -> str | None:
        found = model.role("merchant" if field == "brand" else field)
        return found.relation if found is not None else None

    own = tuple(f for f in intent.filters if f.field not in GROUP_THRESHOLDS and relation_of(f.field) in reached)
    paid = replace(intent, absent=None, dimensions=(), filters=tuple(f for f in intent.filters if f not in own))
    inner_query = builder._Query(paid, model)
    inner_query.joins = [*edges[:-1], *(e for e in inner_query.joins if e not in edges)]
    inner_query.qualified = True
    link = edges[-1]
    correlation = exp.column(link.left, table=link.parent).eq(exp.column(link.right, table=link.child))
    inner = inner_query.from_(sqlglot.select(exp.Literal.number(1)))
    inner = inner.where(exp.and_(correlation, *builder.where(inner_query, paid, intent.window)))
    name = exp.column(role.column, table=role.relation)
    select = sqlglot.select(name).from_(exp.to_table(model.relation(role.relation).table).as_(role.relation))
    outer_query = builder._Query(replace(paid, filters=own, window=None), model)
    outer_query.qualified = True
    for target in dict.fromkeys(relation_of(f.field) for f in own):
        for edge in model.path(role.relation, target) or []:
            joined = exp.to_table(model.relation(edge.child).table).as_(edge.child)
            on = exp.column(edge.left, table=edge.parent).eq(exp.column(edge.right, table=edge.child))
            select = select.join(joined, on=on)
    conditions = [builder._condition(outer_query, f) for f in own]
    select = select.where(exp.and_(*conditions, exp.Not(this=exp.Exists(this=inner))))
    if intent.measures:  # "сколько мерчантов ни разу не принимали онлайн-платежи"
        return sqlglot.select(exp.Count(this=exp.Star()).as_(intent.measures[0].alias)).from_(select.subquery("s"))
    return select.order_by(name.copy())


def _counted(model: SemanticModel, intent: Intent) -> exp.Select:
    """How many merchants (customers ...) pass the group thresholds: "клиенты с более чем 5 транзакциями"."""
    query = builder._Query(intent, model)
    key = query.col(*query.key(intent.counted))
    having = [builder._condition(query, f) for f in intent.filters if f.field in GROUP_THRESHOLDS]
    inner = query.from_(sqlglot.select(key)).group_by(key.copy()).having(exp.and_(*having))
    conditions = builder.where(query, intent, intent.window)
    if conditions:
        inner = inner.where(exp.and_(*conditions))
    alias = Measure(f"{intent.counted}_count").alias if intent.counted in ("customer", "merchant") else "card_count"
    return sqlglot.select(exp.Count(this=exp.Star()).as_(alias)).from_(inner.subquery("s"))


def build(model: SemanticModel, intent: Intent) -> exp.Select:
    """The SELECT for ``intent`` over ``model``, whatever its shape."""
    if intent.compare:
        return _compared(model, intent)
    if intent.growth:
        return _grown(model, intent)
    if intent.absent:
        return _absent(model, intent)
    if intent.counted:
        return _counted(model, intent)
    return builder.build(model, intent)


def to_sql(model: SemanticModel, intent: Intent) -> str:
    """The intent as pretty-printed PostgreSQL."""
    return build(model, intent).sql(dialect="postgres", pretty=True)
