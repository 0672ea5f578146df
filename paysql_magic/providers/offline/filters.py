"""Filters: amount thresholds ("свыше 500 000 тенге", "between 10k and 50k"), the values of categorical columns
("отклоненные", "в Астане", "VISA"), negations ("кроме ATM"), and the condition of a share ("доля ECOM")."""

from __future__ import annotations

import re

from paysql_magic.errors import Declined
from paysql_magic.providers.offline.intent import Filter, Measure
from paysql_magic.providers.offline.reading import Reading

_AMOUNT_WORDS = {("measure", "volume"): "volume", ("measure", "avg"): "avg", ("measure", "count"): "count"}
_KZT = ("currency", "KZT")
_AMOUNT_MEASURE_KINDS = ("measure", "sup", "how_much", "money")


def _threshold_subject(reading: Reading, i: int) -> str:
    """What the comparison at ``i`` applies to: a transaction's amount, or a group's volume/avg/count."""
    j = i - 1
    while reading.kind(j) in ("in", "which"):
        j -= 1
    subject = _AMOUNT_WORDS.get((reading.kind(j), reading.value(j)), "amount")
    if reading.is_(j, "measure", "amount", "volume", "avg", "count"):
        reading.use(j)
    return subject


def _amount(reading: Reading, i: int) -> tuple[float, int] | None:
    """The free number at ``i`` and the index after it, taking a following currency as its unit (only tenge)."""
    if reading.kind(i) != "number" or i in reading.used:
        return None
    after = i + 1
    if reading.kind(after) == "value" and reading.value(after)[0] == "currency":
        if reading.value(after) != _KZT:
            raise Declined(
                "amount thresholds are compared in tenge; give the amount in KZT", rephrase="свыше 50 000 тенге"
            )
        after += 1
    return float(reading.value(i)), after


def _shared_scale(low_text: str, high_text: str, low: float, high: float) -> float:
    """ "от 100 до 200 тысяч": the scale word of the second amount is the first's too (100 000 .. 200 000)."""
    digits = re.match(r"[\d\s,.]+", high_text)
    if not digits or not low_text.replace(" ", "").replace(",", "").isdigit() or high_text.strip() == digits[0].strip():
        return 1.0
    stated = float(digits[0].replace(" ", "").replace(",", ".")) if digits[0].strip() else high
    scale = high / stated if stated else 1.0
    return scale if scale > 1 and low * scale <= high else 1.0


def thresholds(reading: Reading) -> list[Filter]:
    """Amount comparisons (in tenge) and group thresholds ("более 10 транзакций", "с оборотом свыше 1 млн":
    on count, volume or avg, applied after grouping)."""
    found: list[Filter] = []
    for i in reading.free(("cmp", "from", "to")):
        first = None if i in reading.used else _amount(reading, i + 1)
        if first is None:
            continue
        kind, op = reading.kind(i), reading.value(i)
        subject = _threshold_subject(reading, i)
        low, after = first
        if (kind == "cmp" and op == "between") or (kind == "from" and reading.kind(after) in ("to", "and")):
            second = _amount(reading, after + 1) if reading.kind(after) in ("to", "and") else None
            if second is None:
                raise Declined("a range needs two amounts", rephrase="от 10 000 до 50 000 тенге")
            high, after = second
            low *= _shared_scale(
                reading.items[i + 1].text,
                reading.items[after - 1 - (reading.kind(after - 1) != "number")].text,
                low,
                high,
            )
            op, numbers = "between", (min(low, high), max(low, high))
        else:
            op, numbers = {"from": "ge", "to": "le"}.get(kind, op), (low,)
        if subject == "amount" and reading.is_(after, "entity", "transaction"):  # "более 10 транзакций"
            subject, after = "count", after + 1
        found.append(Filter(subject, str(op), numbers))
        reading.use(*range(i, after))
    return found


def _negated(reading: Reading, i: int) -> bool:
    """Whether a "не", "кроме", "except" ... comes just before the value at ``i`` (and use it)."""
    for j in (i - 1, i - 2, i - 3):
        if reading.kind(j) == "not" and j not in reading.used:
            reading.use(j)
            return True
        if reading.kind(j) not in ("in", "entity"):
            return False
    return False


def _is_unit(reading: Reading, i: int) -> bool:
    """ "в KZT", "in tenge" next to a volume or amount: the unit of the answer, not a currency filter."""
    amounts = any(
        reading.kind(j) in _AMOUNT_MEASURE_KINDS and reading.value(j) != "count" for j in range(len(reading.items))
    )
    return reading.value(i) == _KZT and reading.kind(i - 1) == "in" and amounts


_WHOLE = ("среди", "among", "от", "из числа", "out of", "of all")  # «доля ECOM среди отклоненных»: the whole
_PART = ("на", "on", "to")  # «приходится на онлайн», "goes to Travel": the part
_OF = ("of",)  # "share of ECOM": the part, unless another value is marked as the part


def _marker(reading: Reading, j: int, after: int) -> str | None:
    """The preposition that governs the value at ``j`` (values, "and", "not" and entities in between)."""
    k = j - 1
    while k > after and (
        reading.kind(k) in ("not", "entity", "measure", "and", "or")
        or (reading.kind(k) == "value" and reading.kind(k + 1) in ("and", "or"))
    ):
        k -= 1
    return reading.items[k].text if k > after and reading.kind(k) in ("in", "from", "among", "to") else None


def _share_target(reading: Reading, i: int) -> int | None:
    """The value a share at ``i`` counts: the one just before it ("decline rate", "ECOM share"); else, of the
    values after it, the one marked as the part («приходится на онлайн», "share of ECOM in Astana"), else a
    status, else one not placed by «в»/"in" («доля отклоненных в Алматы»: Almaty is the whole), else the first
    («доля транзакций в рублях»). Values after «среди», «от всех», "among" are the whole."""
    if reading.kind(i - 1) == "value" and i - 1 not in reading.used:  # "decline rate", "ECOM share"
        return i - 1
    after = [j for j in range(i + 1, len(reading.items)) if reading.kind(j) == "value" and j not in reading.used]
    marked = {j: _marker(reading, j, i) for j in after}
    after = [j for j in after if marked[j] not in _WHOLE]
    flowing = [j for j in after if reading.items[j].after_flow or reading.items[j - 1].after_flow]
    parts = flowing or [j for j in after if marked[j] in _PART]
    statuses = [j for j in after if reading.value(j)[0] == "status"]
    bare = [j for j in after if marked[j] is None]  # "what % of Almaty transactions were declined"
    of = [j for j in after if marked[j] in _OF]  # "share of ECOM in Astana's volume"
    return (parts or statuses or bare or of or after or [None])[0]


def share(reading: Reading) -> Measure | None:
    """The share measure: "доля отклоненных", "share of ECOM", "decline rate", "конверсия"."""
    for i in reading.free(("share", "share_of")):
        reading.use(i)
        volume = reading.free(("measure", "money"))
        volume = [k for k in volume if reading.kind(k) == "money" or reading.value(k) == "volume"]
        basis = "volume" if volume else "count"
        reading.use(*volume)  # "доля ECOM в обороте": the volume is the share's basis, not another measure
        if reading.kind(i) == "share_of":
            field, value = reading.value(i)
            return Measure("share", Filter(field, "in", (value,)), basis)
        j = _share_target(reading, i)
        if j is None:
            return Measure("share", None, basis)
        field, value = reading.value(j)
        negated = _negated(reading, j)
        reading.use(j)
        return Measure("share", Filter(field, "in", (value,), negated), basis)
    return None


def codes(reading: Reading) -> list[Filter]:
    """ "MCC 5411", "код MCC 5812 и 5814": merchant category codes."""
    found: list[int] = []
    for i in reading.free(("entity",)):
        j = i + 1
        while reading.value(i) in ("category", "mcc_code") and _is_code(reading, j):
            found.append(int(reading.value(j)))
            reading.use(i, j, j - 1 if reading.kind(j - 1) == "and" else None)
            j += 2 if reading.kind(j + 1) == "and" else 1
    return [Filter("mcc_code", "in", tuple(found))] if found else []


def _is_code(reading: Reading, i: int) -> bool:
    number = reading.value(i)
    return (
        reading.kind(i) == "number" and i not in reading.used and float(number).is_integer() and 1000 <= number < 10000
    )


def _city_field(reading: Reading, i: int) -> str:
    """Whose city a city value is: the customers' («клиентов из Алматы», "customers from Almaty", "Almaty
    customers"); where the payment happened, right after a verb of paying ("paid in Shymkent", «прошло не в
    Астане»: ``payment_city``, which no later rule moves to the customers); else "city", decided in resolve.py."""
    before = reading.items[i - 1] if i > 0 else None
    if before is not None and before.after_flow:
        return "payment_city"  # "what share of online volume comes from Almaty": where the money was paid
    if before is not None and before.text in ("из", "from"):
        return "customer_city"
    if reading.is_(i - 1, "entity", "customer") or reading.is_(i + 1, "entity", "customer"):
        return "customer_city"
    k = i
    while k > 0 and reading.kind(k - 1) in ("in", "not") and not reading.items[k].after_pay:
        k -= 1
    return "payment_city" if reading.items[k].after_pay else "city"


def values(reading: Reading) -> list[Filter]:
    """One filter per column (and negation) named by value words; several values of a column are alternatives;
    "other than Almaty and Astana" negates both."""
    grouped: dict[tuple[str, bool], list[object]] = {}
    last: tuple[str, bool] | None = None
    for i in reading.free(("value",)):
        if _is_unit(reading, i):
            reading.use(i)
            continue
        field, value = reading.value(i)
        if field == "city" and reading.city_roles:
            field = _city_field(reading, i)
        negated = _negated(reading, i)
        if not negated and last is not None and last[0] == field and reading.kind(i - 1) in ("and", "or"):
            negated = last[1]
        last = (field, negated)
        values_ = grouped.setdefault((field, negated), [])
        if value not in values_:
            values_.append(value)
        reading.use(i)
    return [Filter(field, "in", tuple(vals), negated) for (field, negated), vals in grouped.items()]
