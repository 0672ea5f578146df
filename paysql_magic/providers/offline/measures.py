"""Measures and rankings: counts, volumes, averages, extremes, distinct payers, and what a superlative ranks by."""

from __future__ import annotations

from paysql_magic.errors import Declined
from paysql_magic.providers.offline.breakdowns import SMALL, dimension, head_dimension
from paysql_magic.providers.offline.intent import GROUP_THRESHOLDS, SERIES, Filter, Measure
from paysql_magic.providers.offline.reading import Reading, Slots

_BIG = ("big", "max")
_RANKED_BY = {"big": ("volume", True), "small": ("volume", False), "popular": ("count", True),
              "many": ("count", True), "few": ("count", False), "most": ("count", True),
              "least": ("count", False), "max": ("volume", True), "min": ("volume", False)}  # fmt: skip
_QUANTITY = {"count": "count", "volume": "volume", "avg": "avg", "amount": "volume"}


def measures(r: Reading, s: Slots, share: Measure | None, found: list[Filter]) -> None:
    """Fill ``s.measures`` (and the ranking a superlative implies); declines a question with no measure."""
    if share is not None:
        s.measures.append(share)
    for i in r.free(("entity",)):  # "transactions and volume", «количество и оборот»: the count is asked too
        if r.value(i) == "transaction" and (r.is_(i + 1, "and") and r.kind(i + 2) == "measure"):
            s.add("count")
            r.use(i)
    for i in range(len(r.items)):
        kind, value = r.kind(i), r.value(i)
        if i in r.used:
            continue
        if kind in ("how_many", "unique") or (kind == "measure" and value == "count"):
            _count(r, s, i)
        elif kind == "how_much" or (kind == "measure" and value in ("volume", "amount")):
            s.add("volume")
        elif kind == "measure" and value == "avg":
            _average(r, s, i)
        elif kind == "measure" and value in ("ticket", "times"):
            s.add("avg" if value == "ticket" else "count")
        elif kind == "measure" and value == "median":  # "медианный чек", "median amount"
            s.add("median")
            of = r.next_index(i, ("measure",), ("entity", "in"), limit=2)
            if r.is_(of, "measure", "ticket", "amount"):
                r.use(of)
        elif kind == "sup":
            _superlative(r, s, i)
        else:
            continue
        r.use(i)
    if r.has("money") and not any(m.kind in ("volume", "avg", "max", "min") for m in s.measures):
        s.measures = [m for m in s.measures if m.kind != "count"]  # "сколько потратили" is a volume
        s.add("volume")
    if s.ranked and s.rank_by is None:
        s.rank_by = next((m.kind for m in s.measures), "count" if _ranks_transactions(r) else "volume")
    if s.rank_by:
        s.add(s.rank_by)
    if s.ranked or any(f.field in GROUP_THRESHOLDS for f in found):
        head_dimension(r, s)
    _defaults(r, s, found)


def _defaults(r: Reading, s: Slots, found: list[Filter]) -> None:
    """No measure named: "новые клиенты по месяцам" counts customers; "транзакции по X" counts and sums."""
    newcomers = next((k for k in r.free(("entity",)) if r.value(k) in ("merchant", "customer")), None)
    if not s.measures and r.has("new") and newcomers is not None:
        s.add(f"{r.value(newcomers)}_count")
        r.use(newcomers)
    if not s.measures and (r.has("entity") or s.dimensions or found):
        s.add("count")
        s.add("volume")
    if not s.measures:
        raise Declined("it found nothing to measure (how many, volume, average, share, ...)")


def _ranks_transactions(r: Reading) -> bool:
    """ "top 5 merchants by (declined) transactions": ranked by their number."""
    by = [r.next_index(k, ("entity",), ("value", "in", "not")) for k in range(len(r.items)) if r.kind(k) == "per"]
    return any(r.value(j) == "transaction" for j in by if j is not None)


def _count(r: Reading, s: Slots, i: int) -> None:
    """ "сколько / количество / number of [уникальных] X": transactions, or merchants / customers."""
    j = r.next_index(i, ("entity",), ("unique", "new", "value", "in", "not", "sup", "measure"))
    entity = r.value(j)
    if entity == "card":  # cards are counted among the payments: "уникальных карт", "cards that paid yesterday"
        if not (r.has("unique") or r.has("entity", "transaction") or r.has("time") or r.has("last") or r.has("this")):
            raise Declined(f"it counts cards among the payments only: say «уникальных {r.items[j].text}» and when")
        s.add("unique_cards")
        r.use(j)
    elif entity in ("merchant", "customer"):
        unique = r.kind(i) == "unique" or r.has("unique")
        s.add(f"unique_{entity}s" if unique else f"{entity}_count")
        r.use(j)
    elif r.is_dimension(j) and j not in r.used and r.kind(j + 1) != "value":
        raise Declined(f"it cannot count distinct {r.items[j].text}")
    elif r.kind(i) != "unique" and not (r.kind(i) == "how_many" and r.has("money")):
        s.add("count")


def _average(r: Reading, s: Slots, i: int) -> None:
    """ "средний чек" = avg amount; "среднее количество в день", "average daily volume", "сколько в среднем
    транзакций в день", "average transactions per hour" = the average of a per-day (hour...) count or volume;
    "average turnover per merchant" is the turnover divided by the merchants (operators.divide_per)."""
    if s.per is not None:
        s.add("avg")
        return
    j = r.next_index(i, ("measure",), ("series", "entity", "in", "unit"), limit=2)
    of = r.value(j)
    before = [k for k in range(i - 1, i - 5, -1) if r.kind(k) == "how_many" or r.is_(k, "measure", "count", "volume")]
    if of not in ("count", "volume") and before:
        of = "count" if r.kind(before[0]) == "how_many" else r.value(before[0])
        s.measures = [m for m in s.measures if m.kind != of]
    elif j is None and r.is_(i + 1, "entity", "transaction") and set(s.dimensions) & set(SERIES):
        of, j = "count", i + 1
    if of == "count" and r.value(r.next_index(j, ("entity",), ("in",), limit=1)) in ("merchant", "customer"):
        raise Declined("it cannot average counts of merchants or customers")
    if of not in ("count", "volume"):
        s.add("avg")
        if of in ("amount", "ticket"):
            r.use(j)
        return
    series = next((d for d in s.dimensions if d in SERIES), None)
    if series is None:
        raise Declined("an average of counts or volumes needs a period, e.g. «в день» or «daily»")
    s.dimensions.remove(series)
    s.add(str(of), of_series=series)
    r.use(j)


def _superlative(r: Reading, s: Slots, i: int) -> None:
    """ "самый крупный платеж" = the max amount; "самый крупный мерчант", "больше всего транзакций", "the busiest
    hour" = a ranking of groups."""
    value = str(r.value(i))
    inverted, j = value == "least", i
    while r.kind(j + 1) == "sup" and j + 1 not in r.used:  # "самый крупный", "most popular", "наименее активный"
        j += 1
        value = str(r.value(j)) if value in ("most", "least") else value
        r.use(j)
    people = r.is_(i + 1, "entity", "customer", "merchant", "card")
    if value == "popular" and j == i and people and _other_measures(r, i):
        return  # "сколько активных клиентов": the active ones are those with transactions
    target = r.next_index(j, ("measure", "entity", "money", "how_much"), ("in", "value", "unit"), limit=2)
    if r.is_(target, "entity", "transaction") and r.kind(target + 1) == "measure":  # "transaction volume"
        r.use(target)
        target += 1
    if target is None and value in ("many", "few"):  # "где транзакций больше всего"
        target = next((k for k in (i - 1, i - 2) if r.kind(k) in ("measure", "money")), None)
    what = r.value(target)
    one = (r.kind(target) == "measure" and what in ("amount", "ticket")) or what in ("transaction", None)
    if one and value in (*_BIG, *SMALL) and not s.ranked:
        _extreme(r, s, i, target, "max" if value in _BIG else "min")
        return
    by, descending = _RANKED_BY[value]
    if r.kind(target) == "measure" and what in _QUANTITY:
        by = _QUANTITY[str(what)]
        r.use(target)
    elif r.kind(target) in ("money", "how_much"):
        by = "volume"
    elif r.is_dimension(target):  # "самый крупный мерчант", "the busiest city" (maybe taken by "топ 5")
        if target not in r.used:
            dimension(r, s, target)
        if (named := _named_basis(r, target)) is not None:  # "крупнейшие мерчанты по количеству транзакций"
            by = _QUANTITY[str(r.value(named))]
            r.use(named)
    elif r.kind(j + 1) in ("unit", "series") and j + 1 not in r.used:  # "the busiest hour"
        dimension(r, s, j + 1)
    if r.kind(target) != "measure" and (named := _named_basis(r, j)) is not None:  # "busiest weekday by volume"
        by = _QUANTITY[str(r.value(named))]
        r.use(named)
    s.rank(by, descending != (inverted and value != "least"))


def _named_basis(r: Reading, after: int) -> int | None:
    """The measure a ranking is explicitly by: "по количеству", "by volume" after the ranked groups (not "по
    количеству клиентов": distinct customers are counted elsewhere)."""
    for k in range(after + 1, len(r.items) - 1):
        counts_people = r.value(k + 2) in ("merchant", "customer")
        if r.kind(k) == "per" and r.is_(k + 1, "measure", *_QUANTITY) and k + 1 not in r.used and not counts_people:
            return k + 1
    return None


def _extreme(r: Reading, s: Slots, i: int, target: int | None, kind: str) -> None:
    """The largest or smallest single amount; per group when a breakdown was asked for."""
    if _other_measures(r, i, target):
        raise Declined(
            f"«{r.items[i].text}» reads as one payment's amount, and the question measures something else",
            rephrase="Минимальный чек на заправках за неделю",
        )
    s.add(kind)
    r.use(target, *([target + 1] if r.is_(target, "entity") and r.is_(target + 1, "measure", "amount") else []))
    if s.asked:  # "у какого мерчанта самый крупный платеж"
        s.rank(kind, True)


def _other_measures(r: Reading, *here: int | None) -> bool:
    """Whether a measure other than an amount is named outside the items ``here``."""
    kinds = ("how_many", "how_much", "measure")
    amounts = ("amount", "ticket")  # «минимальный и максимальный чек»: both about one payment's amount
    return any(r.kind(k) in kinds and r.value(k) not in amounts for k in range(len(r.items)) if k not in here)
