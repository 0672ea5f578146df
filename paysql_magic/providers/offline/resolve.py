"""Last touches that need the whole intent: whose city a question means, and whether merchants or customers are
counted in their own tables or as distinct payers and payees of transactions."""

from __future__ import annotations

from dataclasses import replace

from paysql_magic.errors import Declined
from paysql_magic.providers.offline.intent import GROUP_THRESHOLDS, SERIES, Filter, Intent, Measure
from paysql_magic.providers.offline.reading import Reading
from paysql_magic.semantic.model import SemanticModel

_SOURCES = {"merchant_count": "merchants", "customer_count": "customers"}
_ROLES = {"merchant_count": "merchant", "customer_count": "customer"}


def own_fields(model: SemanticModel, kind: str) -> set[str]:
    """What merchants (customers) can be counted by in their own table: the roles their relation reaches by joins
    (a merchant's city and category); any other field needs the payments."""
    role = model.role(_ROLES[kind])
    if role is None:
        return set()
    reached = model.reachable(role.relation)
    own = {name for name, r in model.roles.items() if r.relation in reached and name not in _ROLES.values()}
    return own


def _speaks_of_customers(intent: Intent, reading: Reading) -> bool:
    """ "city" is the customer's when the question speaks of customers and not of merchants."""
    fields = {f.field for f in intent.filters} | set(intent.dimensions) | {m.kind for m in intent.measures}
    customers = reading.has("entity", "customer") or bool(fields & {"segment", "unique_customers", "customer_count"})
    merchants = reading.has("entity", "merchant") or reading.has("entity", "category") or "brand" in fields
    return customers and not merchants


def _customer_city(intent: Intent, reading: Reading) -> Intent:
    """City is the customers' when the question speaks of customers — except a city where they paid ("customers
    who paid in Shymkent": ``payment_city``, see filters.py)."""

    def swap(f: Filter | None) -> Filter | None:
        return replace(f, field="customer_city") if f is not None and f.field == "city" else f

    return replace(
        intent,
        filters=tuple(swap(f) for f in intent.filters),
        dimensions=tuple("customer_city" if d == "city" else d for d in intent.dimensions),
        measures=tuple(replace(m, condition=swap(m.condition)) for m in intent.measures),
    )


def _entity_source(intent: Intent, reading: Reading, model: SemanticModel) -> Intent:
    """ "How many merchants in Almaty" counts the merchants table; "how many customers paid today" counts
    distinct customers of the day's transactions."""
    counted = [m.kind for m in intent.measures if m.kind in _ROLES]
    if not counted:
        return intent
    kind = counted[0]
    new = reading.has("new")
    role = model.role(_ROLES[kind])
    dated = role is not None and model.relation(role.relation).time is not None
    own = own_fields(model, kind) | (set(SERIES) if new and dated else set())  # "новые клиенты по месяцам"
    on_transactions = (
        len(intent.measures) > 1
        or reading.has("entity", "transaction")
        or reading.has("money")
        or (intent.window is not None and not new)
        or any(f.field not in own for f in intent.filters)
        or any(d not in own for d in intent.dimensions)
    )
    if on_transactions:
        unique = "unique_merchants" if kind == "merchant_count" else "unique_customers"
        measures = tuple(Measure(unique) if m.kind == kind else m for m in intent.measures)
        return replace(intent, measures=measures)
    return replace(intent, source=_SOURCES[kind])


def _turnover_rule(intent: Intent, model: SemanticModel) -> Intent:
    """The model's rule of which statuses counts and turnover include, unless the question names a status."""
    if not model.turnover_statuses or "status" not in model.roles or intent.source != "transactions":
        return intent
    named = {f.field for f in intent.filters} | set(intent.dimensions)
    named |= {m.condition.field for m in intent.measures if m.condition is not None}
    if "status" in named:
        return intent
    return replace(intent, filters=(*intent.filters, Filter("status", "in", model.turnover_statuses)))


def _payment_city(intent: Intent) -> Intent:
    """A city where the payment happened is the city of the payments (``city``) from here on."""

    def back(f: Filter | None) -> Filter | None:
        return replace(f, field="city") if f is not None and f.field == "payment_city" else f

    filters = tuple(back(f) for f in intent.filters)
    return replace(
        intent, filters=filters, measures=tuple(replace(m, condition=back(m.condition)) for m in intent.measures)
    )


def resolve(intent: Intent, reading: Reading, model: SemanticModel) -> Intent:
    """The intent with its cities, its counted table and its ranking settled."""
    if _speaks_of_customers(intent, reading) and "customer_city" in model.roles:
        intent = _customer_city(intent, reading)
    intent = _payment_city(intent)
    intent = _entity_source(intent, reading, model)
    if intent.source == "merchants":  # a merchant's own city, whoever is asking
        intent = replace(
            intent,
            filters=tuple(replace(f, field="city") if f.field == "customer_city" else f for f in intent.filters),
        )
    if any(f.field in GROUP_THRESHOLDS for f in intent.filters) and not intent.dimensions and not intent.counted:
        raise Declined(
            "a threshold on a count or volume needs a breakdown", rephrase="Мерчанты с оборотом свыше 1 млн тенге"
        )
    intent = _turnover_rule(intent, model)
    if intent.limit is not None and not intent.dimensions and not intent.listing:
        intent = replace(intent, order=(), limit=None)  # a ranking of a single row
    return intent
