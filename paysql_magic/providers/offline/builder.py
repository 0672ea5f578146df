"""Intent -> one PostgreSQL SELECT over a semantic model, built with sqlglot's expression builder (never by
string templates).

Only the relations the intent needs are joined, along the model's entities (a payment's terminal, the terminal's
merchant); the amount is in tenge whatever the unit it is stored in. A query on one table leaves its columns
unqualified, like a person would write it.
"""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlglot import exp

from paysql_magic.errors import Declined
from paysql_magic.providers.offline.dates import window_conditions
from paysql_magic.providers.offline.intent import GROUP_THRESHOLDS, SERIES, Filter, Intent, Measure, Order, Window
from paysql_magic.semantic.model import Edge, Role, SemanticModel

_GROUPED_BY_KEY = ("merchant", "customer", "terminal", "card")  # names need not be unique: grouped by key and name
_COMPARE = {"gt": exp.GT, "ge": exp.GTE, "lt": exp.LT, "le": exp.LTE, "eq": exp.EQ}
_AGGREGATES = {"volume": exp.Sum, "avg": exp.Avg, "max": exp.Max, "min": exp.Min}
_SOURCE_ROLES = {"merchants": "merchant", "customers": "customer"}
_UNIQUE = {"unique_customers": "customer", "unique_merchants": "merchant", "unique_cards": "card"}


def _missing(what: str) -> Declined:
    return Declined(f"this database's semantic model has no {what.replace('_', ' ')}")


class _Query:
    """The relations one intent touches, and its column references (qualified only when there is a join)."""

    def __init__(self, intent: Intent, model: SemanticModel) -> None:
        self.intent, self.model = intent, model
        counted = _SOURCE_ROLES.get(intent.source)
        self.base = model.fact.alias if counted is None else self.role(counted).relation
        fields = [*intent.dimensions, *(f.field for f in intent.filters)]
        fields += [m.condition.field for m in intent.measures if m.condition is not None]
        aliases = {self.role(f).relation for f in fields if f not in (*SERIES, *GROUP_THRESHOLDS, "amount")}
        aliases |= {self.key(m.kind)[0] for m in intent.measures if m.kind in _UNIQUE}
        aliases |= {self.key(m.per)[0] for m in intent.measures if m.per}
        if intent.counted:
            aliases.add(self.key(intent.counted)[0])
        if intent.listing and "merchant" in model.roles:
            aliases.add(model.roles["merchant"].relation)
        self.joins: list[Edge] = []
        for alias in sorted(aliases - {self.base}, key=[r.alias for r in model.relations].index):
            path = model.path(self.base, alias)
            if path is None:
                raise Declined(f"{model.relation(alias).name} cannot be joined to {model.relation(self.base).name}")
            self.joins += [edge for edge in path if edge not in self.joins]
        self.qualified = bool(self.joins)

    def role(self, name: str) -> Role:
        role = self.model.role("merchant" if name == "brand" else name)
        if role is None:
            raise _missing(name)
        return role

    def key(self, kind: str) -> tuple[str, str]:
        """Where the rows of a role (``unique_customers``' customer, or a role name) are told apart."""
        role = _UNIQUE.get(kind, kind)
        found = self.model.key_of(role)
        if found is None:
            raise _missing(role)
        return found

    def col(self, alias: str, name: str) -> exp.Column:
        return exp.column(name, table=alias if self.qualified else None)

    def field(self, name: str) -> exp.Expression:
        if name == "amount":
            return self.amount()
        role = self.role(name)
        return self.col(role.relation, role.column)

    def amount(self) -> exp.Expression:
        """The amount in tenge: the stored column, divided by 100 when it holds minor units."""
        if self.model.amount is None:
            raise _missing("amount")
        column = self.col(self.model.fact.alias, self.model.amount)
        if self.model.divisor == 1:
            return column
        return exp.Div(this=column, expression=exp.Literal.number(f"{self.model.divisor}.0"))

    def time(self) -> exp.Column:
        relation = self.model.relation(self.base)
        column = self.model.time if self.base == self.model.fact.alias else relation.time
        if column is None:
            raise Declined(f"{relation.name} has no time dimension in the semantic model")
        return self.col(self.base, column)

    def from_(self, select: exp.Select) -> exp.Select:
        table = exp.to_table(self.model.relation(self.base).table)
        select = select.from_(table.as_(self.base) if self.qualified else table)
        for edge in self.joins:
            joined = exp.to_table(self.model.relation(edge.child).table).as_(edge.child)
            on = exp.column(edge.left, table=edge.parent).eq(exp.column(edge.right, table=edge.child))
            select = select.join(joined, on=on)
        return select

    def literal(self, field: str, value: object) -> exp.Expression:
        """A stored value as SQL: a number for numeric codes, else a string."""
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, int | float):
            return exp.Literal.number(value)
        return exp.Literal.string(str(value))

    def stored(self, f: Filter) -> list[object]:
        """The stored values a filter's tokens stand for (a status meaning -> its codes)."""
        role = self.role(f.field)
        return [stored for token in f.values for stored in role.db_values(token)]


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
    values = [query.literal(f.field, v) for v in query.stored(f)]
    if len(values) == 1:
        return column.neq(values[0]) if f.negated else column.eq(values[0])
    return exp.not_(column.isin(*values)) if f.negated else column.isin(*values)


def _ratio(numerator: exp.Expression, denominator: exp.Expression) -> exp.Expression:
    """ROUND(100.0 * numerator / NULLIF(denominator, 0), 2): a percentage, NULL rather than an error on no rows."""
    scaled = exp.Mul(this=exp.Literal.number("100.0"), expression=numerator)
    share = exp.Div(this=scaled, expression=exp.func("nullif", denominator, exp.Literal.number(0)), typed=True)
    return exp.Anonymous(this="ROUND", expressions=[share, exp.Literal.number(2)])


_PERCENTILE = "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x)"


def _percentile(amount: exp.Expression, fraction: float) -> exp.Expression:
    """PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY amount)."""
    tree = sqlglot.parse_one(_PERCENTILE, read="postgres")
    tree.find(exp.Literal).replace(exp.Literal.number(fraction))
    tree.find(exp.Column).replace(amount)
    return tree


def _per(query: _Query, measure: Measure, amount: exp.Expression) -> exp.Expression:
    """A count or volume divided by the number of customers (merchants, cards) in the group."""
    total = (
        exp.Sum(this=amount)
        if measure.kind == "volume"
        else exp.Mul(this=exp.Count(this=exp.Star()), expression=exp.Literal.number("1.0"))
    )
    people = exp.Count(this=exp.Distinct(expressions=[query.col(*query.key(measure.per))]))
    return exp.Div(this=total, expression=exp.func("nullif", people, exp.Literal.number(0)), typed=True)


def _aggregate(query: _Query, measure: Measure) -> exp.Expression:
    amount = query.field("amount")
    kind = measure.kind
    if measure.per:
        return _per(query, measure, amount)
    if kind in _AGGREGATES:
        return _AGGREGATES[kind](this=amount)
    if kind in ("median", "percentile"):
        return _percentile(amount, 0.5 if kind == "median" else measure.p)
    if kind in ("first", "last"):
        return (exp.Min if kind == "first" else exp.Max)(this=query.time())
    if kind in _UNIQUE:
        return exp.Count(this=exp.Distinct(expressions=[query.col(*query.key(kind))]))
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
        role = query.role(name)
        if name in _GROUPED_BY_KEY and role.key is not None:
            select = select.group_by(query.col(role.relation, role.key))
        select = select.group_by(query.field(name))
        for other in role.also:  # the same name in another language, beside it
            select = select.select(query.col(role.relation, other)).group_by(query.col(role.relation, other))
    return select


def _ordered(order: Order, query: _Query | None = None) -> exp.Ordered:
    """ORDER BY an output alias, or a listed transaction's amount or time; PostgreSQL's default NULLS order."""
    if query is not None and order.key in ("amount", "time"):
        key: exp.Expression = query.field("amount") if order.key == "amount" else query.time()
    else:
        key = exp.column(order.key)
    return exp.Ordered(this=key, desc=order.descending or None, nulls_first=order.descending)


def _output_name(model: SemanticModel, name: str) -> str:
    if name in SERIES:
        return name
    return model.roles[name].column


def _series_average(intent: Intent, model: SemanticModel) -> exp.Select:
    """ "Average daily volume": the per-day (week, month, hour) aggregates, averaged in an outer query."""
    series = intent.measures[0].of_series
    inner = build(
        model,
        replace(
            intent,
            measures=tuple(Measure(m.kind) for m in intent.measures),
            dimensions=(series, *intent.dimensions),
            order=(),
            limit=None,
        ),
    )
    names = [_output_name(model, d) for d in intent.dimensions]
    averages = [exp.Avg(this=exp.column(Measure(m.kind).alias, table="s")).as_(m.alias) for m in intent.measures]
    select = sqlglot.select(*(exp.column(n, table="s") for n in names), *averages).from_(inner.subquery("s"))
    if names:
        select = select.group_by(*(exp.column(n, table="s") for n in names))
    if intent.order:
        select = select.order_by(*map(_ordered, intent.order))
    return select.limit(intent.limit) if intent.limit is not None else select


def build(model: SemanticModel, intent: Intent) -> exp.Select:
    """The plain SELECT for ``intent`` over ``model`` (``compose.build`` adds comparisons, growth, anti-joins)."""
    if any(m.of_series for m in intent.measures):
        return _series_average(intent, model)
    query = _Query(intent, model)
    select = sqlglot.select()
    if intent.listing:
        rows = exp.Column(this=exp.Star(), table=exp.to_identifier(model.fact.alias)) if query.qualified else exp.Star()
        select = select.select(rows, *([query.field("merchant")] if "merchant" in model.roles else []))
    else:
        select = _breakdown(query, select)
        select = select.select(*(_aggregate(query, m).as_(m.alias) for m in intent.measures))
    select = query.from_(select)
    conditions = where(query, intent, intent.window)
    if conditions:
        select = select.where(exp.and_(*conditions))
    having = [_condition(query, f) for f in intent.filters if f.field in GROUP_THRESHOLDS]
    if having:
        select = select.having(exp.and_(*having))
    if intent.order:
        select = select.order_by(*(_ordered(o, query) for o in intent.order))
    elif intent.dimensions and intent.measures and not intent.listing:  # "by city": the biggest first, never unsorted
        select = select.order_by(_ordered(Order(intent.measures[0].alias, descending=True)))
    if intent.limit is not None:
        select = select.limit(intent.limit)
    return select


def where(query: _Query, intent: Intent, window: Window | None) -> list[exp.Expression]:
    """The row conditions of ``intent``: its filters (thresholds excepted) and ``window``."""
    found = [_condition(query, f) for f in intent.filters if f.field not in GROUP_THRESHOLDS]
    if window is not None:
        today = exp.cast(exp.Placeholder(this=intent.today), "date") if intent.today else None
        found.extend(window_conditions(window, query.time(), today))
    return found
