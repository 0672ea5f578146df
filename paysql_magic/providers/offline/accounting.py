"""Every word of the question is accounted for: used by the intent, or known to carry no meaning there.

After parsing, an item nobody used is a word the answer would silently ignore — a negation, a comparison, a place
or a breakdown the intent does not have. Such a question is declined, naming the word: a decline costs a
rephrase, a wrong number that looks right costs trust.
"""

from __future__ import annotations

from paysql_magic.errors import Declined
from paysql_magic.providers.offline.intent import Intent
from paysql_magic.providers.offline.reading import Reading

# Kinds that only connect or frame other words ("в", "по", "за", "какой", "где", "список", "динамика").
_CONNECTIVES = {"in", "for", "and", "or", "which", "where", "per", "from", "to", "among", "list", "trend", "top"}
_TIME_WORDS = {"last", "time", "this", "this_unit", "unit", "span", "month", "number"}
_ENTITY_FIELDS = {  # an entity is named by its own values: "клиенты премиум-сегмента", "картой Visa"
    "customer": {"segment", "customer_city", "city", "customer"},
    "merchant": {"city", "brand", "category", "mcc_code", "merchant"},
    "card": {"card_brand", "card_type", "card"},
    "terminal": {"city", "terminal"},
}


def _fields(intent: Intent) -> set[str]:
    fields = {f.field for f in intent.filters} | set(intent.dimensions)
    return fields | {m.condition.field for m in intent.measures if m.condition is not None}


def _near_value(r: Reading, i: int, fields: set[str]) -> bool:
    """Whether a used value of ``fields`` stands next to the entity at ``i`` (two items at most between)."""

    def named(j: int) -> bool:
        return j in r.used and r.kind(j) == "value" and r.value(j)[0] in fields

    for j in range(i + 1, i + 4):
        if named(j):
            return True
        if r.kind(j) not in ("value", "in", "from", "not", "entity"):
            break
    return named(i - 1) or (r.kind(i - 1) == "value" and named(i - 2))


def _accounted(r: Reading, i: int, intent: Intent) -> bool:
    item = r.items[i]
    kind, value = item.kind, item.value
    if kind in _CONNECTIVES:
        return True
    if kind == "entity":
        if value == "transaction" or (item.after_all and item.plural):  # "all channels": every one of them
            return True
        if any(r.is_(j, "entity", value) and j in r.used for j in (i - 1, i + 1)):  # «категориям мсс»
            return True
        own_fields = _ENTITY_FIELDS.get(str(value), set())
        if r.kind(i - 1) == "entity" and i - 1 in r.used and r.value(i - 1) in own_fields:  # «категориям продавцов»
            return True
        if value == "customer" and (r.has("measure", "times") or r.has("money")):
            return True  # "сколько раз клиенты расплачивались", "how much did customers spend": the payers
        own = _ENTITY_FIELDS.get(str(value), {str(value)})
        return _near_value(r, i, own) or (value in ("category", "city", "segment") and _near_value(r, i, {value}))
    if kind == "money":
        return any(m.kind in ("volume", "avg", "max", "min") or m.basis == "volume" for m in intent.measures)
    if kind == "new":
        return intent.source != "transactions" or any(m.kind.endswith(("_count", "customers", "merchants")) for m in
                                                       intent.measures)  # fmt: skip
    if kind == "cmp" and item.text == "over":  # "over the last 14 days": a span, not a comparison
        return r.kind(i + 1) in _TIME_WORDS
    if kind == "unit":  # "за 7 дней", "в день": read with the window or the series
        return intent.window is not None or bool(intent.dimensions)
    return False


def account(r: Reading, intent: Intent) -> None:
    """Decline, naming the word, when an item of the question is neither used nor known to carry no meaning."""
    for i, item in enumerate(r.items):
        if i in r.used or _accounted(r, i, intent):
            continue
        if item.kind == "not":
            raise Declined(f"it cannot tell what «{item.text}» negates here")
        raise Declined(f"it could not place «{item.text}» in the question")
