"""Intent -> one PostgreSQL SELECT, built with sqlglot's expression builder (never by string templates).

Only the tables the intent needs are joined: ``transactions t``, ``merchants m`` (USING merchant_id),
``mcc_codes c`` (USING mcc_code), ``customers cu`` (USING customer_id). A query on one table leaves its
columns unqualified, like a person would write it.
"""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlglot import exp

from paysql_magic.providers.offline.dates import window_conditions
from paysql_magic.providers.offline.intent import GROUP_THRESHOLDS, SERIES, Filter, Intent, Measure, Order

_TABLES = {"t": "transactions", "m": "merchants", "c": "mcc_codes", "cu": "customers"}
_JOINS = {"m": "merchant_id", "c": "mcc_code", "cu": "customer_id"}  # joined USING these columns
_BASE = {"transactions": "t", "merchants": "m", "customers": "cu"}
_TIME = {"transactions": "transaction_ts", "merchants": "registered_at", "customers": "created_at"}
_COLUMNS = {  # breakdown or filter field -> (table alias, column)
    "merchant": ("m", "merchant_name"),
    "customer": ("cu", "full_name"),
    "category": ("c", "mcc_category"),
    "mcc_code": ("m", "mcc_code"),
    "city": ("m", "city"),
    "customer_city": ("cu", "city"),
    "segment": ("cu", "segment"),
    "currency": ("t", "currency"),
    "channel": ("t", "channel"),
    "card_type": ("t", "card_type"),
    "status": ("t", "status"),
    "amount": ("t", "amount_kzt"),
    "brand": ("m", "merchant_name"),  # every outlet of a brand: 'Magnum Almaty 3'
}
_GROUP_KEYS = {"merchant": ("m", "merchant_id"), "customer": ("cu", "customer_id")}  # names need not be unique
_COMPARE = {"gt": exp.GT, "ge": exp.GTE, "lt": exp.LT, "le": exp.LTE, "eq": exp.EQ}
_AGGREGATES = {"volume": exp.Sum, "avg": exp.Avg, "max": exp.Max, "min": exp.Min}


class _Query:
    """The tables one intent touches, and its column references (qualified only when there is a join)."""

    def __init__(self, intent: Intent) -> None:
        self.intent = intent
        self.base = _BASE[intent.source]
        fields = [*intent.dimensions, *(f.field for f in intent.filters)]
        fields += [m.condition.field for m in intent.measures if m.condition is not None]
        aliases = {_COLUMNS[f][0] for f in fields if f in _COLUMNS} | ({"m"} if intent.listing else set())
        if "c" in aliases and self.base != "m":
            aliases.add("m")
        self.joins = [a for a in ("t", "m", "c", "cu") if a in aliases and a != self.base]
        self.qualified = bool(self.joins)

    def col(self, alias: str, name: str) -> exp.Column:
        return exp.column(name, table=alias if self.qualified else None)

    def field(self, name: str) -> exp.Column:
        return self.col(*_COLUMNS[name])

    def time(self) -> exp.Column:
        return self.col(self.base, _TIME[self.intent.source])

    def from_(self, select: exp.Select) -> exp.Select:
        table = exp.to_table(_TABLES[self.base])
        select = select.from_(table.as_(self.base) if self.qualified else table)
        for alias in self.joins:
            select = select.join(exp.to_table(_TABLES[alias]).as_(alias), using=[_JOINS[alias]])
        return select


def _number(value: object) -> exp.Literal:
    """A numeric literal, without a decimal point when the number is whole (500000, not 500000.0)."""
    number = float(value)
    return exp.Literal.number(int(number) if number.is_integer() else number)


def _condition(query: _Query, f: Filter) -> exp.Expression:
    if f.field in GROUP_THRESHOLDS:
        column: exp.Expression = _aggregate(query, Measure(f.field))
    else:
        column = query.field(f.field)
    if f.field == "brand":
        brands = exp.or_(*(column.like(exp.Literal.string(f"{brand}%")) for brand in f.values))
        return exp.not_(brands) if f.negated else brands
    if f.op == "between":
        return column.between(*map(_number, f.values))
    if f.op in _COMPARE:
        return _COMPARE[f.op](this=column, expression=_number(f.values[0]))
    if len(f.values) == 1:
        return column.neq(f.values[0]) if f.negated else column.eq(f.values[0])
    return exp.not_(column.isin(*f.values)) if f.negated else column.isin(*f.values)


def _ratio(numerator: exp.Expression, denominator: exp.Expression) -> exp.Expression:
    """ROUND(100.0 * numerator / NULLIF(denominator, 0), 2): a percentage, NULL rather than an error on no rows."""
    scaled = exp.Mul(this=exp.Literal.number("100.0"), expression=numerator)
    share = exp.Div(this=scaled, expression=exp.func("nullif", denominator, exp.Literal.number(0)), typed=True)
    return exp.Anonymous(this="ROUND", expressions=[share, exp.Literal.number(2)])


def _aggregate(query: _Query, measure: Measure) -> exp.Expression:
    amount = query.field("amount")
    kind = measure.kind
    if kind in _AGGREGATES:
        return _AGGREGATES[kind](this=amount)
    if kind in ("unique_customers", "unique_merchants"):
        key = "customer_id" if kind == "unique_customers" else "merchant_id"
        return exp.Count(this=exp.Distinct(expressions=[query.col("t", key)]))
    if kind != "share":
        return exp.Count(this=exp.Star())  # count, merchant_count, customer_count
    total = exp.Sum(this=amount) if measure.basis == "volume" else exp.Count(this=exp.Star())
    if measure.condition is None:  # each group's share of all rows
        return _ratio(total, exp.Window(this=exp.Sum(this=total.copy())))
    part = exp.Filter(this=total.copy(), expression=exp.Where(this=_condition(query, measure.condition)))
    return _ratio(part, total)


def _series(query: _Query, name: str) -> exp.Expression:
    time = query.time()
    if name == "day":
        return exp.cast(time, "date")
    if name in ("hour", "weekday"):
        return exp.Extract(this=exp.var("hour" if name == "hour" else "isodow"), expression=time)
    return exp.cast(exp.func("date_trunc", exp.Literal.string(name), time), "date")


def _breakdown(query: _Query, select: exp.Select) -> exp.Select:
    """SELECT and GROUP BY the dimensions: series by their alias, merchants and customers with their id."""
    dimensions = query.intent.dimensions
    for name in dimensions:
        if name in SERIES:
            select = select.select(_series(query, name).as_(name)).group_by(exp.to_identifier(name))
            continue
        column = query.field(name)
        if name == "customer_city" and "city" in dimensions:
            column = column.as_("customer_city")
        select = select.select(column)
        if name in _GROUP_KEYS:
            select = select.group_by(query.col(*_GROUP_KEYS[name]))
        select = select.group_by(query.field(name))
    return select


def _ordered(order: Order, query: _Query | None = None) -> exp.Ordered:
    """ORDER BY an output alias, or a listed transaction's amount or time; PostgreSQL's default NULLS order."""
    if query is not None and order.key in ("amount", "time"):
        key: exp.Expression = query.field("amount") if order.key == "amount" else query.time()
    else:
        key = exp.column(order.key)
    return exp.Ordered(this=key, desc=order.descending or None, nulls_first=order.descending)


def _output_name(name: str) -> str:
    if name in SERIES:
        return name
    return _COLUMNS[name][1] if name != "customer_city" else "city"


def _series_average(intent: Intent) -> exp.Select:
    """ "Average daily volume": the per-day (week, month, hour) aggregates, averaged in an outer query."""
    series = intent.measures[0].of_series
    inner = build(
        replace(
            intent,
            measures=tuple(Measure(m.kind) for m in intent.measures),
            dimensions=(series, *intent.dimensions),
            order=(),
            limit=None,
        )
    )
    names = [_output_name(d) for d in intent.dimensions]
    averages = [exp.Avg(this=exp.column(Measure(m.kind).alias, table="s")).as_(m.alias) for m in intent.measures]
    select = sqlglot.select(*(exp.column(n, table="s") for n in names), *averages).from_(inner.subquery("s"))
    if names:
        select = select.group_by(*(exp.column(n, table="s") for n in names))
    if intent.order:
        select = select.order_by(*map(_ordered, intent.order))
    return select.limit(intent.limit) if intent.limit is not None else select


def build(intent: Intent) -> exp.Select:
    """The SELECT for ``intent``."""
    if any(m.of_series for m in intent.measures):
        return _series_average(intent)
    query = _Query(intent)
    select = sqlglot.select()
    if intent.listing:
        select = select.select(exp.Column(this=exp.Star(), table=exp.to_identifier("t")), query.field("merchant"))
    else:
        select = _breakdown(query, select)
        select = select.select(*(_aggregate(query, m).as_(m.alias) for m in intent.measures))
    select = query.from_(select)
    where = [_condition(query, f) for f in intent.filters if f.field not in GROUP_THRESHOLDS]
    if intent.window is not None:
        today = exp.cast(exp.Placeholder(this=intent.today), "date") if intent.today else None
        where.extend(window_conditions(intent.window, query.time(), today))
    if where:
        select = select.where(exp.and_(*where))
    having = [_condition(query, f) for f in intent.filters if f.field in GROUP_THRESHOLDS]
    if having:
        select = select.having(exp.and_(*having))
    if intent.order:
        select = select.order_by(*(_ordered(o, query) for o in intent.order))
    if intent.limit is not None:
        select = select.limit(intent.limit)
    return select


def to_sql(intent: Intent) -> str:
    """The intent as pretty-printed PostgreSQL."""
    return build(intent).sql(dialect="postgres", pretty=True)
