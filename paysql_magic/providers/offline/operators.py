"""What analysts ask next, read from the question: two periods side by side, growth over a series, the first or
last payment, percentiles, what did not happen, figures per customer, and how many customers pass a threshold.

Each reader takes the items it understands (``Reading.use``) and returns what the intent needs; the builder
(``compose.py``) writes the SQL.
"""

from __future__ import annotations

from dataclasses import replace

from paysql_magic.errors import Declined
from paysql_magic.providers.offline.dates import find_windows
from paysql_magic.providers.offline.intent import GROUP_THRESHOLDS, SERIES, Filter, Measure, Window
from paysql_magic.providers.offline.reading import Reading, Slots

_PEOPLE = ("merchant", "customer", "card", "terminal")  # what can be counted, listed as absent, or averaged over
_COUNTED = {"customer_count": "customer", "unique_customers": "customer", "merchant_count": "merchant",
            "unique_merchants": "merchant", "unique_cards": "card"}  # fmt: skip


def _in_percent(r: Reading) -> None:
    """ "в процентах", "in percent", "percent change": how a change is shown, not a share to compute."""
    for i in r.free(("share",)):
        if r.items[i].text.startswith(("процент", "percent", "%")) and (
            r.kind(i - 1) in ("in", "growth") or r.kind(i + 1) == "growth"
        ):
            r.use(i)


def windows(r: Reading, s: Slots) -> tuple[Window | None, tuple[Window, ...]]:
    """The window, or the two periods of a comparison ("сравни эту неделю с прошлой", "today vs yesterday",
    «оборот сегодня и вчера»); "change to the previous month over the last 4 months" is growth by month."""
    found = find_windows(r.items, r.used)
    compared = r.free(("compare",))
    changes = r.free(("growth",))
    if compared or changes:
        _in_percent(r)
    if changes and len(found) == 2 and not compared and any(w.kind == "previous" for w in found):
        previous = next(w for w in found if w.kind == "previous")
        s.dimensions.append(previous.unit)  # «изменение к предыдущему месяцу»: month over month
        found = [w for w in found if w is not previous]
    if compared and changes:
        r.use(*changes)  # "compare ... and the change": the comparison carries its change
    if compared and len(found) == 1 and (elided := _elided(r, found[0])) is not None:
        found.append(elided)  # "сравни эту неделю с прошлой": the unit said once
    if compared and len(found) == 1 and _two_months(found[0]):
        found = [replace(found[0], month_to=found[0].month), replace(found[0], month=found[0].month_to)]
    if len(found) == 2:
        r.use(*compared)
        return None, tuple(_calendar(found[0], found[1]))
    if len(found) > 2:
        raise Declined("it names more than two periods", rephrase="Сравни оборот за эту неделю с прошлой неделей")
    if compared:
        raise Declined("a comparison needs the two periods it compares", rephrase="Сравни оборот сегодня и вчера")
    window = found[0] if found else None
    if window is not None and window.kind == "prior":  # "за предыдущие 7 дней" alone: the last 7 days
        window = replace(window, kind="last")
    return window, ()


def _calendar(first: Window, second: Window) -> tuple[Window, Window]:
    """ "this week vs last week": beside a calendar week (month), "last week" is the previous calendar one, not the
    last 7 (30) days, which would overlap it."""
    rolling = {"week": 7, "month": 30}
    pair = [first, second]
    for a, b in ((0, 1), (1, 0)):
        this, other = pair[a], pair[b]
        if this.kind == "this" and other.kind == "last" and other.unit == "day" and other.n == rolling.get(this.unit):
            pair[b] = Window("previous", unit=this.unit)
    return pair[0], pair[1]


def _two_months(window: Window) -> bool:
    """ "в октябре и ноябре" read as one span of two whole months, where a comparison means each of them."""
    return window.kind == "month" and window.day_from is None and window.month_to not in (None, window.month)


def _elided(r: Reading, first: Window) -> Window | None:
    """The second period of a comparison that names its unit once: "this week with the previous", «с прошлой»."""
    if first.kind not in ("this", "previous") or first.unit == "day":
        return None
    other = next((i for i in r.free(("last", "this")) if r.kind(i + 1) != "unit"), None)
    if other is None:
        return None
    r.use(other)
    return Window("previous" if r.kind(other) == "last" else "this", unit=first.unit)


def growth(r: Reading, s: Slots, window: Window | None) -> bool:
    """ "week-over-week change", «рост оборота по месяцам», "month over month growth for the last 6 months":
    each bucket of a series with its change against the one before."""
    found = r.free(("growth",))
    if not found:
        return False
    r.use(*found)
    unit = next((r.value(i) for i in found if r.value(i)), None)
    series = [d for d in s.dimensions if d in SERIES]
    if unit is not None:  # "неделя к неделе": that series, whatever "динамика" implied
        s.dimensions[:] = [d for d in s.dimensions if d not in SERIES] + [str(unit)]
    elif not series:
        if window is None or window.kind != "last" or window.unit not in ("week", "month", "day"):
            raise Declined(
                "a change needs a series or two periods",
                rephrase="Изменение оборота по неделям за последние 4 недели",
            )
        s.dimensions.append(window.unit)
    return True


def edges(r: Reading, s: Slots) -> None:
    """ "Когда была последняя отклоненная транзакция?", "first and last transaction time today": the time of the
    first or last payment (a timestamp)."""
    when = r.free(("when",))
    if not when:
        return
    found = [i for i in r.free(("edge", "last")) if r.kind(i) == "edge" or r.value(i) == "rolling"]
    if not found:
        text = r.items[when[0]].text
        raise Declined(f"it cannot tell what «{text}» asks for", rephrase="Когда была последняя транзакция?")
    for edge in found:
        s.measures.append(Measure("first" if r.kind(edge) == "edge" else "last"))
        transaction = r.next_index(edge, ("entity",), ("value", "in", "not", "sup", "and", "edge", "last"), limit=4)
        if r.is_(transaction, "entity", "transaction"):
            r.use(transaction)
    r.use(*when, *found)


def percentiles(r: Reading, s: Slots) -> None:
    """ "90-й процентиль суммы", "the 25th, 50th and 75th percentiles of the amount"."""
    for i in r.free(("percentile",)):
        ranks, j = [], i - 1
        while r.kind(j) in ("number", "and") and j not in r.used:
            if r.kind(j) == "number":
                ranks.insert(0, j)
            j -= 1
        if not ranks and r.kind(i + 1) == "number" and i + 1 not in r.used:
            ranks = [i + 1]
        if not ranks or not all(0 < float(r.value(k)) < 100 for k in ranks):
            raise Declined("a percentile needs its rank", rephrase="90-й процентиль суммы платежа за неделю")
        s.measures.extend(Measure("percentile", p=float(r.value(k)) / 100) for k in ranks)
        r.use(i, *range(ranks[0], i))
        amount = r.next_index(i, ("measure",), ("in", "entity"), limit=2)
        if r.is_(amount, "measure", "amount", "ticket"):
            r.use(amount)


def absent(r: Reading) -> str | None:
    """ "Какие мерчанты не провели транзакций сегодня", "merchants with no transactions in the last 7 days",
    «клиенты без платежей в этом месяце»: who had no payment (NOT EXISTS)."""
    if any(r.kind(k) in ("measure", "top", "sup", "share", "how_much", "money") for k in range(len(r.items))):
        return None  # "top 5 merchants by volume, excluding ATM withdrawals": a filter, not an absence
    zero = [i for i in r.free(("number",)) if r.value(i) == 0]  # "with zero purchases"
    for i in sorted(r.free(("not",)) + zero):
        payments = r.next_index(i, ("entity",), ("in", "which", "money", "value", "not"), limit=4)
        if not r.is_(payments, "entity", "transaction"):
            continue
        who = next((j for j in range(i - 1, -1, -1) if r.kind(j) == "entity" and r.value(j) in _PEOPLE), None)
        if who is None:
            continue
        negations = [k for k in range(i, payments) if r.kind(k) == "not" or k in zero]
        r.use(*negations, payments, who)
        return str(r.value(who))
    return None


def per_entity(r: Reading, s: Slots) -> None:
    """ "average spend per customer", «транзакций на одного клиента», "transactions per merchant": a count or
    volume divided by the number of customers (merchants, cards) — not a breakdown by each of them."""
    for i in range(len(r.items)):
        item = r.items[i]
        if i in r.used or not ((r.is_(i, "per") and item.text == "per") or (r.is_(i, "in") and item.text == "на")):
            continue
        j = i + 1 + (r.kind(i + 1) == "number" and r.value(i + 1) == 1)  # "на одного клиента"
        j += r.is_(j, "sup", "popular")  # "на одного активного мерчанта": the ones with payments, as always
        if r.kind(j) != "entity" or r.value(j) not in _PEOPLE or r.items[j].plural:
            continue
        breakdown = any(
            r.kind(k) == "per" and k != i and r.kind(k + 1) in ("entity", "unit") for k in range(len(r.items))
        )
        if not (breakdown or r.has("measure", "avg") or item.text == "на"):
            continue  # "declined transactions per merchant": a breakdown by merchant
        s.per = str(r.value(j))
        r.use(*range(i, j + 1))
        return


def divide_per(r: Reading, s: Slots) -> None:
    """The measures of "per customer" divided by the number of customers: a volume when money is named ("spend",
    «оборот», "average amount"), else a count."""
    if s.per is None:
        return
    money = any(
        r.kind(k) in ("money", "how_much") or r.is_(k, "measure", "volume", "amount", "ticket")
        for k in range(len(r.items))
    )
    basis = "volume" if money else "count"
    s.measures = [m for m in s.measures if m.kind not in ("avg", "volume", "count")] + [Measure(basis, per=s.per)]


def counted(intent_measures: list[Measure], found: list[Filter], dimensions: list[str]) -> str | None:
    """ "Сколько клиентов совершили более 5 транзакций": the customers whose own count passes the threshold."""
    if dimensions or not any(f.field in GROUP_THRESHOLDS for f in found):
        return None
    return next((_COUNTED[m.kind] for m in intent_measures if m.kind in _COUNTED), None)
