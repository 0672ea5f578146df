"""Rows and groups: top-N and limits, single transactions to list, and the breakdowns (GROUP BY) of a question."""

from __future__ import annotations

from paysql_magic.providers.offline.intent import SERIES, Order
from paysql_magic.providers.offline.reading import Reading, Slots

SMALL = ("small", "min")  # superlatives that rank upwards
_GROUPS = ("entity", "unit")  # what a breakdown is named by: "мерчант", "день"
_MEASURE_WORDS = ("measure", "how_many", "how_much", "share", "share_of", "unique", "money")


def top(r: Reading, s: Slots) -> None:
    """ "топ 5", "top five", "bottom 3": a ranking and its limit; "10 самых крупных", "5 мерчантов с ...": a limit."""
    for i in r.free(("top", "bottom")):
        s.ranked, s.descending, s.limit_at, s.top_named = True, r.kind(i) == "top", i, True
        r.use(i)
        for j in (i + 1, i - 1):
            if r.kind(j) == "number" and j not in r.used:
                s.limit, s.limit_at = int(r.value(j)), max(i, j)
                r.use(j)
                break
        break
    for i in r.free(("rank",)):  # "рейтинг городов", "ranked by volume": every group, in order
        s.ranked, s.descending, s.limit_at = True, r.value(i) != "asc", i
        r.use(i)
    ranking = r.has("sup") or s.ranked
    for i in r.free(("number",)):
        if s.limit is None and (r.kind(i + 1) == "sup" or (ranking and r.is_dimension(i + 1))):
            s.limit, s.limit_at = int(r.value(i)), i
            r.use(i)


def listing(r: Reading, s: Slots) -> Order | None:
    """Single transactions, and their order: "10 самых крупных транзакций", "last 5 declined payments",
    "список транзакций"."""
    for t in r.free(("entity",)):
        if r.value(t) != "transaction":
            continue
        chain, j = [], t - 1
        while r.kind(j) in ("sup", "last", "value", "in", "not", "number", "top"):
            chain.append(j)
            j -= 1
        numbers = [k for k in chain if r.kind(k) == "number" and k not in r.used]
        kinds = {r.kind(k) for k in chain}
        if not (numbers or s.limit_at in chain) or not kinds & {"sup", "last", "top"}:
            continue
        if numbers and s.limit is None:
            s.limit = int(r.value(numbers[0]))
        r.use(t, *numbers, *(k for k in chain if r.kind(k) in ("sup", "last")))
        sups = {r.value(k) for k in chain if r.kind(k) == "sup"}
        if "last" in kinds and not sups:
            return Order("time")
        return Order("amount", descending=not sups & set(SMALL))
    named = any(r.kind(k) in _MEASURE_WORDS or r.is_dimension(k) for k in range(len(r.items)))
    if (i := next(iter(r.free(("list",))), None)) is not None and not named:
        r.use(i)
        return Order("time")
    return None


def dimension(r: Reading, s: Slots, i: int | None, *, by_entity: bool = True) -> bool:
    """Take the entity or time unit at ``i`` as a breakdown; True when it was one.

    An entity followed by one of its values is a filter, not a breakdown: «по картам Visa», «в городе Алматы».
    """
    field = {"customer_city": "city", "merchant": "brand", "card": "card_brand"}.get(str(r.value(i)), r.value(i))
    if r.is_dimension(i) and r.kind(i + 1) == "value" and r.value(i + 1)[0] in (field, r.value(i)):
        r.use(i)
        return False
    if (r.is_dimension(i) and by_entity) or r.is_(i, "unit", *SERIES):
        s.singular = s.singular or not r.items[i].plural
    elif r.is_(i, "series"):
        s.singular = s.singular or (r.kind(i - 1) in ("which", "sup") and not r.items[i].plural)  # «какой час»
    else:
        return False
    s.dimensions.append(str(r.value(i)))
    r.use(i)
    return True


def dimensions(r: Reading, s: Slots) -> None:
    """Breakdowns: "по городам и каналам", "daily", "в день", "топ 5 мерчантов", "какой мерчант", "где"."""
    if s.limit_at is not None:  # "топ 5 мерчантов", "10 самых крупных мерчантов", "top 3 days"
        j = r.next_index(s.limit_at, _GROUPS, ("sup", "number", "value", "in", "top"), limit=3)
        if j is not None and j not in r.used:
            dimension(r, s, j)
    for i in range(len(r.items)):
        kind = r.kind(i)
        if i in r.used:
            continue
        if kind == "series":
            dimension(r, s, i)
        elif kind in ("per", "in") and r.kind(i + 1) in _GROUPS and i + 1 not in r.used:
            if dimension(r, s, i + 1, by_entity=kind == "per"):  # "в день" is a rate, "в городе" is not
                r.use(i)
                j = i + 2
                while r.kind(j) in ("and", "per") and dimension(r, s, j + 1):  # "по городам и каналам"
                    r.use(j)
                    j += 2
        elif kind in ("which", "list", "among"):  # "какой мерчант", "в какой день", "среди городов"
            j = r.next_index(i, _GROUPS, ("sup", "number", "value", "in"), limit=3)
            if j is not None and j not in r.used:
                s.asked = dimension(r, s, j) or s.asked
        elif kind == "where" and (r.has("sup") or s.ranked):
            s.dimensions.append("city")
            s.asked = s.singular = True
            r.use(i)
    if r.has("trend") and not set(s.dimensions) & set(SERIES):
        s.dimensions.append("day")


def ranked_list(r: Reading, s: Slots) -> None:
    """ "мерчанты в Павлодаре по обороту", "cities by volume": groups named first and ranked by a measure after
    "по" / "by" — every group, in order (no number: no limit)."""
    if s.dimensions or s.ranked:
        return
    head = next((k for k in r.free(("entity",)) if r.is_dimension(k) and r.items[k].plural), None)
    by = next((k for k in range(len(r.items)) if r.kind(k) == "per" and r.kind(k + 1) == "measure"), None)
    if head is None or by is None or by < head:
        return
    dimension(r, s, head)
    r.use(by)
    s.rank(next((m.kind for m in s.measures), "volume"), True)


def head_dimension(r: Reading, s: Slots) -> None:
    """The first entity named, as the breakdown of a ranking or a group threshold that has none yet:
    "мерчанты с оборотом более 10 млн", "город с наибольшим числом транзакций"."""
    head = next((k for k in r.free(("entity",)) if r.is_dimension(k)), None)
    if head is not None and not s.dimensions:
        dimension(r, s, head)
