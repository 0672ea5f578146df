"""The plan a language model fills instead of writing SQL: a JSON Schema whose enumerations are this database's
measures, dimensions and low-cardinality values, so a reply can only name what exists.

Sent as Ollama's ``format`` and Gemini's ``response_json_schema``. Each filter ties its values to its dimension
with ``anyOf``; a dimension with more values than a provider accepts in an enumeration (merchant names) takes a
free string, checked against the database after the reply (``plans.compile``).
"""

from __future__ import annotations

from typing import Any

from paysql_magic.providers.offline.intent import SERIES
from paysql_magic.semantic.model import SemanticModel

MAX_ENUM = 40  # values enumerated per dimension: Gemini refuses schemas with too many states
MEASURES = ("count", "volume", "avg", "max", "min", "median", "unique_customers", "unique_merchants",
            "unique_cards", "share", "first", "last")  # fmt: skip
PERIODS = ("today", "yesterday", "last", "this", "previous", "month", "all")
UNITS = ("day", "week", "month", "year")
_OPS = ("gt", "ge", "lt", "le", "between")

PLAN_INSTRUCTIONS = """\
Reply with a JSON plan only, never SQL: measures (what to compute: count of payments, volume = the sum of the
amount in tenge, avg, max, min, median, unique_customers / unique_merchants / unique_cards, share = the percentage
of rows matching share_of, first / last = the time of the first or last payment; per = divide by the number of
customers or merchants), by (dimensions or time series to group by), filters (dimension values; negated for
"except"), amount (a threshold on a payment's amount in tenge), period (today, yesterday, last N days/weeks/months,
this or previous week/month/year, a named month), compare_to (a second period shown side by side), growth (each
bucket of the series with its change against the one before), without_payments (list the merchants or customers
with no payment in the period), order and limit (only when the question asks for a top N). Counts and volumes
include every status unless the question names one. Set needs_sql to a short reason, and leave the rest empty,
when the question cannot be expressed as such a plan."""


def _values(model: SemanticModel, name: str, sampled: dict[str, tuple[object, ...]]) -> list[str] | None:
    """The enumerable values of a dimension (meanings first), or None when they are too many or unknown."""
    role = model.roles[name]
    values = [v.means for v in role.values if v.means]
    values += [str(v.value) for v in role.values] + [str(v) for v in sampled.get(name, ())]
    values += [str(b.value) for b in role.brands]
    unique = list(dict.fromkeys(values))
    return unique if 0 < len(unique) <= MAX_ENUM else None


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def plan_schema(model: SemanticModel, sampled: dict[str, tuple[object, ...]] | None = None) -> dict[str, Any]:
    """The JSON Schema of a plan over ``model`` (``sampled``: the database's low-cardinality values per role)."""
    sampled = sampled or {}
    roles = sorted(model.roles)
    filters = []
    for name in roles:
        values = _values(model, name, sampled)
        item = {"type": "string", "enum": values} if values else {"type": "string"}
        filters.append({
            "type": "object",
            "properties": {
                "dimension": {"type": "string", "enum": [name]},
                "values": {"type": "array", "items": item, "minItems": 1},
                "negated": {"type": "boolean"},
            },
            "required": ["dimension", "values", "negated"],
        })  # fmt: skip
    period = {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": list(PERIODS)},
            "n": {"type": "integer", "minimum": 1},
            "unit": {"type": "string", "enum": list(UNITS)},
            "month": {"type": "integer", "minimum": 1, "maximum": 12},
        },
        "required": ["kind"],
    }
    people = [r for r in ("customer", "merchant", "card") if r in model.roles]
    measure = {
        "type": "object",
        "properties": {
            "measure": {"type": "string", "enum": list(MEASURES)},
            "share_of": _nullable({"anyOf": filters}) if filters else {"type": "null"},
            "basis": {"type": "string", "enum": ["count", "volume"]},
            "per": _nullable({"type": "string", "enum": people}) if people else {"type": "null"},
        },
        "required": ["measure"],
    }
    return {
        "type": "object",
        "properties": {
            "needs_sql": {"type": ["string", "null"]},
            "measures": {"type": "array", "items": measure},
            "by": {"type": "array", "items": {"type": "string", "enum": [*roles, *SERIES]}},
            "filters": {"type": "array", "items": {"anyOf": filters} if filters else {"type": "object"}},
            "amount": _nullable(
                {
                    "type": "object",
                    "properties": {
                        "op": {"type": "string", "enum": list(_OPS)},
                        "values": {"type": "array", "items": {"type": "number"}, "minItems": 1},
                    },
                    "required": ["op", "values"],
                }
            ),
            "period": _nullable(period),
            "compare_to": _nullable(period),
            "growth": {"type": "boolean"},
            "without_payments": _nullable({"type": "string", "enum": people}) if people else {"type": "null"},
            "order": _nullable(
                {
                    "type": "object",
                    "properties": {"by": {"type": "string"}, "descending": {"type": "boolean"}},
                    "required": ["by", "descending"],
                }
            ),
            "limit": {"type": ["integer", "null"], "minimum": 1},
        },
        "required": ["needs_sql", "measures", "by", "filters", "period"],
    }
