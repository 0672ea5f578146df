"""Follow-ups for the offline provider: the change a refinement asks for, applied to the previous intent.

A filter replaces the previous filter on the same field (or is added); a time window replaces the window; a
time series replaces the series and a breakdown the breakdown; named measures replace the measures; a top N
replaces the ranking. Everything the refinement does not mention stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from paysql_magic.providers.offline.intent import SERIES, Filter, Intent, Measure, Order, Window
from paysql_magic.providers.offline.reading import Slots


@dataclass(frozen=True)
class Change:
    """What a refinement named."""

    filters: tuple[Filter, ...]
    window: Window | None
    dimensions: tuple[str, ...]
    measures: tuple[Measure, ...]
    slots: Slots  # the ranking: ranked, rank_by, descending, limit


def _customers(intent: Intent) -> bool:
    return "customer_city" in intent.dimensions or any(f.field == "customer_city" for f in intent.filters)


def _filters(base: Intent, change: Change) -> tuple[Filter, ...]:
    new = tuple(
        replace(f, field="customer_city") if f.field == "city" and _customers(base) else f for f in change.filters
    )
    fields = {f.field for f in new}
    return tuple(f for f in base.filters if f.field not in fields) + new


def _dimensions(base: Intent, change: Change) -> tuple[str, ...]:
    if not change.dimensions:
        return base.dimensions
    series = [d for d in change.dimensions if d in SERIES] or [d for d in base.dimensions if d in SERIES]
    groups = [d for d in change.dimensions if d not in SERIES] or [d for d in base.dimensions if d not in SERIES]
    return tuple(dict.fromkeys([*groups, *series]))


def _order(base: Intent, change: Change, measures: tuple[Measure, ...], dimensions: tuple[str, ...]):
    s = change.slots
    if s.ranked and s.rank_by is not None:
        alias = next((m.alias for m in measures if m.kind == s.rank_by), measures[0].alias if measures else None)
        return (Order(alias, s.descending),) if alias else base.order
    keys = {m.alias for m in measures} | set(dimensions) | ({"amount", "time"} if base.listing else set())
    if base.order and all(o.key in keys for o in base.order):
        return base.order
    series = tuple(Order(d, descending=False) for d in dimensions if d in SERIES)
    if series or not measures or not dimensions:
        return series
    return (Order(measures[0].alias),)


def refine(base: Intent, change: Change) -> Intent:
    """``base`` with ``change`` applied."""
    measures = change.measures or base.measures
    dimensions = _dimensions(base, change)
    limit = change.slots.limit if change.slots.limit is not None else base.limit
    if not dimensions and not base.listing:
        limit = None  # a ranking of a single row
    return replace(
        base,
        filters=_filters(base, change),
        window=change.window or base.window,
        dimensions=dimensions,
        measures=measures,
        order=_order(base, change, measures, dimensions),
        limit=limit,
    )
