"""A plan (a language model's reply, or an intent of the offline parser) -> the offline provider's Intent, checked
against the plan's JSON Schema and this database's values; then compiled by the same compiler as the offline
provider. A plan naming what does not exist is refused before any SQL exists, with the nearest known values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from jsonschema import Draft202012Validator
from rapidfuzz import process

from paysql_magic.errors import Declined, ProviderError
from paysql_magic.providers.offline.intent import SERIES, Filter, Intent, Measure, Order, Window
from paysql_magic.semantic.model import SemanticModel

Known = Callable[[str, str], Sequence[str] | None]  # (dimension, value) -> None if it exists, else the nearest


class PlanError(ProviderError):
    """The plan names something this database does not have; the message lists the nearest known values."""


class NeedsSql(Declined):
    """The model says a plan cannot express the question (with its reason)."""


def read_plan(text: str) -> dict[str, Any]:
    """The plan object of a reply (JSON, maybe in a ```json fence)."""
    body = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        plan = json.loads(body)
    except ValueError as exc:
        raise PlanError(f"the model's plan is not JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(plan, dict):
        raise PlanError("the model's plan is not a JSON object")
    return plan


def _window(period: dict | None) -> Window | None:
    if not period or period.get("kind") == "all":
        return None
    kind, n, unit = period["kind"], int(period.get("n") or 1), period.get("unit") or "day"
    if kind in ("today", "yesterday"):
        return Window(kind)
    if kind == "month":
        return Window("month", month=period.get("month"), month_to=period.get("month"))
    if kind == "last" and unit != "day" and n == 1 and "n" not in period:
        n = {"week": 7, "month": 30, "year": 365}[unit]
        unit = "day"
    if kind == "previous" and unit == "day":
        return Window("yesterday")
    return Window(kind, n=n, unit=unit)


def _typed(model: SemanticModel, dimension: str, value: object) -> object:
    role = model.roles[dimension]
    if role.numeric and str(value).lstrip("-").isdigit():
        return int(value)
    return value


def _filter(model: SemanticModel, spec: dict, known: Known) -> Filter:
    dimension = spec["dimension"]
    role = model.roles[dimension]
    brands = {str(b.value) for b in role.brands}
    values = tuple(_typed(model, dimension, v) for v in spec["values"])
    if values and all(str(v) in brands for v in values):
        return Filter("brand", "in", values, bool(spec.get("negated")))
    for value in values:
        if not role.means(value) and (nearest := known(dimension, str(value))) is not None:
            hint = f"; nearest: {', '.join(nearest)}" if nearest else ""
            raise PlanError(f"the plan names {dimension} {value!r}, which this database does not have{hint}")
    return Filter(dimension, "in", values, bool(spec.get("negated")))


def _measure(model: SemanticModel, spec: dict, known: Known) -> Measure:
    kind = spec["measure"]
    if kind == "share":
        condition = _filter(model, spec["share_of"], known) if spec.get("share_of") else None
        return Measure("share", condition, spec.get("basis") or "count")
    if spec.get("per"):
        return Measure("volume" if kind in ("volume", "avg") else "count", per=spec["per"])
    return Measure(kind)


def to_intent(plan: dict[str, Any], model: SemanticModel, schema: dict[str, Any], known: Known) -> Intent:
    """The Intent a plan describes; raises NeedsSql, or PlanError (one line) for a plan outside ``schema``."""
    if isinstance(plan.get("needs_sql"), str) and plan["needs_sql"].strip():
        raise NeedsSql(f"the model says this needs SQL: {plan['needs_sql'].strip()}")
    for spec in plan.get("filters") or []:  # an unknown value goes back with the nearest known ones
        if isinstance(spec, dict) and spec.get("dimension") in model.roles and isinstance(spec.get("values"), list):
            _filter(model, spec, known)
    error = next(iter(sorted(Draft202012Validator(schema).iter_errors(plan), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "plan"
        raise PlanError(f"the plan does not fit this database at {where}: {error.message[:200]}")
    measures = tuple(_measure(model, m, known) for m in plan["measures"])
    if not measures and not plan.get("without_payments"):
        raise PlanError("the plan has no measure")
    filters = [_filter(model, f, known) for f in plan["filters"]]
    if amount := plan.get("amount"):
        filters.append(Filter("amount", amount["op"], tuple(amount["values"])))
    window = _window(plan.get("period"))
    compared = _window(plan.get("compare_to"))
    by = tuple(plan["by"])
    order: tuple[Order, ...] = ()
    if spec := plan.get("order"):
        key = next((m.alias for m in measures if spec["by"] in (m.kind, m.alias)), spec["by"])
        order = (Order(key, bool(spec["descending"])),)
    elif any(b in SERIES for b in by):
        order = tuple(Order(b, descending=False) for b in by if b in SERIES)
    intent = Intent(
        measures=measures,
        dimensions=by,
        filters=tuple(filters),
        window=None if compared else window,
        order=order,
        limit=plan.get("limit"),
        compare=(window, compared) if compared and window else (),
        growth=bool(plan.get("growth")),
        absent=plan.get("without_payments"),
    )
    return _turnover(intent, model)


def _turnover(intent: Intent, model: SemanticModel) -> Intent:
    """The model's rule of which statuses turnover counts, unless the plan names a status."""
    named = {f.field for f in intent.filters} | set(intent.dimensions)
    if not model.turnover_statuses or "status" in named or "status" not in model.roles:
        return intent
    return replace(intent, filters=(*intent.filters, Filter("status", "in", model.turnover_statuses)))


def nearest(value: str, choices: Sequence[str], limit: int = 3) -> list[str]:
    """The known values closest to ``value`` (rapidfuzz), for the repair message."""
    return [choice for choice, _, _ in process.extract(value, list(choices), limit=limit, score_cutoff=40)]


def describe(intent: Intent) -> str:
    """The plan in one compact line: "volume | by city | status=declined | last 7 days"."""
    parts = [", ".join(m.alias for m in intent.measures) or f"{intent.absent}s without payments"]
    if intent.dimensions:
        parts.append("by " + ", ".join(intent.dimensions))
    for f in intent.filters:
        sign = "!=" if f.negated else "=" if f.op == "in" else f" {f.op} "
        parts.append(f"{f.field}{sign}{','.join(map(str, f.values))}")
    for window in intent.compare or (intent.window,):
        if window is not None:
            parts.append(_period(window))
    if intent.growth:
        parts.append("change vs the bucket before")
    if intent.limit:
        parts.append(f"top {intent.limit}")
    return " | ".join(parts)


def _period(w: Window) -> str:
    if w.kind in ("last", "hours"):
        return f"last {w.n} {w.unit}{'s' * (w.n > 1)}"
    if w.kind in ("this", "previous"):
        return f"{w.kind} {w.unit}"
    if w.kind == "month":
        return f"month {w.month}"
    return w.kind


def _period_of(window: Window | None) -> dict | None:
    if window is None:
        return None
    if window.kind == "month":
        return {"kind": "month", "month": window.month}
    if window.kind in ("today", "yesterday"):
        return {"kind": window.kind}
    return {"kind": window.kind, "n": window.n, "unit": window.unit}


def from_intent(intent: Intent) -> dict[str, Any]:
    """The plan of an intent (the offline parser's, or one recovered from reviewed SQL): how verified examples
    are shown to a model in plan mode."""

    def filter_of(f: Filter) -> dict:
        field = "merchant" if f.field == "brand" else f.field
        return {"dimension": field, "values": [str(v) for v in f.values], "negated": f.negated}

    measures = []
    for m in intent.measures:
        spec: dict[str, Any] = {"measure": m.kind}
        if m.condition is not None:
            spec["share_of"], spec["basis"] = filter_of(m.condition), m.basis
        if m.per:
            spec["per"] = m.per
        measures.append(spec)
    plain = [f for f in intent.filters if f.op == "in"]
    amount = next((f for f in intent.filters if f.field == "amount"), None)
    first, second = intent.compare or (intent.window, None)
    order = intent.order[0] if intent.order and intent.order[0].key not in SERIES else None
    return {
        "needs_sql": None,
        "measures": measures,
        "by": list(intent.dimensions),
        "filters": [filter_of(f) for f in plain],
        "amount": {"op": amount.op, "values": list(amount.values)} if amount else None,
        "period": _period_of(first),
        "compare_to": _period_of(second),
        "growth": intent.growth,
        "without_payments": intent.absent,
        "order": {"by": order.key, "descending": order.descending} if order else None,
        "limit": intent.limit,
    }
