"""Question -> Intent: the lexicon's concepts are read in a fixed order, each step taking what it understands.

Top-N and limits, the time window, single transactions to list, amount thresholds, the share, value filters,
breakdowns, and last the measures with the ranking they imply. A question with words nobody understood, a
request to change data, or a comparison is declined: the provider never guesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from paysql_magic.errors import Declined
from paysql_magic.providers.offline import breakdowns, filters, operators
from paysql_magic.providers.offline.accounting import account
from paysql_magic.providers.offline.dates import find_window
from paysql_magic.providers.offline.intent import SERIES, Filter, Intent, Measure, Order
from paysql_magic.providers.offline.lexicon import FLOW_VERBS, PAY_VERBS
from paysql_magic.providers.offline.matcher import Item, Matcher
from paysql_magic.providers.offline.measures import measures
from paysql_magic.providers.offline.reading import Reading, Slots
from paysql_magic.providers.offline.refine import Change, refine
from paysql_magic.providers.offline.resolve import resolve
from paysql_magic.providers.offline.text import word_token
from paysql_magic.providers.offline.vocabulary import entries
from paysql_magic.semantic.model import SemanticModel


class Parser:
    """Turns a question into an Intent over one semantic model; raises Declined, saying why, when it cannot.

    ``sampled``: stored values per role read from the database, beside those the model lists."""

    def __init__(self, model: SemanticModel, sampled: Mapping[str, tuple[object, ...]] | None = None) -> None:
        self.model = model
        self._matcher = Matcher(entries(model, sampled))

    def parse(self, question: str) -> Intent:
        r, s = self._read(question)
        window, compare = operators.windows(r, s)
        operators.edges(r, s)
        operators.percentiles(r, s)
        gone = operators.absent(r)
        listed = breakdowns.listing(r, s) if gone is None and not s.measures else None
        found, share = _filters(r)
        if gone is not None and r.free(("how_many",)):  # "сколько мерчантов не принимали онлайн-платежи"
            r.use(*r.free(("how_many",)))
            s.measures.append(Measure(f"{gone}_count" if gone in ("merchant", "customer") else "count"))
        if listed is None and gone is None:
            operators.per_entity(r, s)
            breakdowns.dimensions(r, s)
            measures(r, s, share, found)
            operators.divide_per(r, s)
            breakdowns.ranked_list(r, s)
        grows = operators.growth(r, s, window) if gone is None else False
        _all_read(r)
        if s.ranked and not s.dimensions and listed is None and r.has("rank"):
            raise Declined("it cannot tell what to rank", rephrase="Аптеки по убыванию оборота за 30 дней: мерчанты")
        if s.ranked and len(dict.fromkeys(s.dimensions)) > 1 and listed is None:
            raise Declined(
                "a top N within each group needs a language model",
                rephrase="Топ 3 мерчанта по обороту в категории Groceries",
            )
        intent = Intent(
            measures=tuple(s.measures),
            dimensions=tuple(dict.fromkeys(s.dimensions)),
            filters=tuple(found),
            window=window,
            order=(listed,) if listed is not None else _order(s),
            limit=s.limit if listed is not None else _limit(s),
            listing=listed is not None,
            compare=compare,
            growth=grows,
            absent=gone,
            counted=operators.counted(s.measures, found, s.dimensions),
        )
        intent = resolve(intent, r, self.model)
        account(r, intent)
        return intent

    def refine(self, base: Intent, change: str) -> Intent:
        """``base`` with the change a follow-up asks for: a filter, a time window, a breakdown, a measure, a
        top N («только по Алматы», "same for last month", "now by week", «топ 3»)."""
        r, s = self._read(change)
        window = find_window(r.items, r.used)
        found, share = _filters(r)
        breakdowns.dimensions(r, s)
        if share is not None or any(item.kind in _MEASURE_KINDS for item in r.items):
            measures(r, s, share, found)
        _all_read(r)
        if not (window or found or s.dimensions or s.measures or s.limit):
            raise Declined(
                "it found no change to apply to the previous question (a filter, period, breakdown or top N)"
            )
        return refine(base, Change(tuple(found), window, tuple(dict.fromkeys(s.dimensions)), tuple(s.measures), s))

    def _read(self, text: str) -> tuple[Reading, Slots]:
        """The text's meaningful items (refusing changes to data and unknown words), with its top N read."""
        items = self._matcher.items(text)
        _refuse(items)
        cities = {"city", "customer_city"} <= set(self.model.roles)
        r = Reading(_meaningful(items), cities)
        s = Slots()
        breakdowns.top(r, s)
        return r, s


_MEASURE_KINDS = ("how_many", "unique", "how_much", "measure", "sup", "share", "share_of")


def _filters(r: Reading) -> tuple[list[Filter], Measure | None]:
    """Codes, amount thresholds and value filters, and the share asked for (read before the values it names)."""
    found = filters.codes(r) + filters.thresholds(r)
    share = filters.share(r)
    return found + filters.values(r), share


def _all_read(r: Reading) -> None:
    if leftover := r.free(("number", "month")):
        raise Declined(f"it could not tell what «{r.items[leftover[0]].text}» refers to")


def _refuse(items: list[Item]) -> None:
    """Decline requests to change data, comparisons and forecasts, and questions with unknown content words."""
    if any(item.kind == "dml" for item in items):
        raise Declined("it asks to change data, and paysql-magic only reads data")
    unsupported = next((item for item in items if item.kind == "unsupported"), None)
    if unsupported is not None:
        raise Declined(f"{unsupported.value} («{unsupported.text}») need a language model")
    absent = next((item for item in items if item.kind == "absent"), None)
    if absent is not None:
        kind, value = absent.value
        what = f"a {value}" if kind == "entity" else f"{value[0]} {value[1]}"
        raise Declined(f"«{absent.text}» names {what.replace('_', ' ')}, which this database's semantic model has not")
    unknown = [item.text for item in items if item.kind == "unknown" and not item.neutral]
    if unknown:
        raise Declined(f"it does not know the words {', '.join(f'«{word}»' for word in unknown)}")


def _meaningful(items: list[Item]) -> list[Item]:
    """The items that carry meaning (fillers and ignorable words dropped), those right after a verb of paying
    marked (``after_pay``)."""
    kept: list[Item] = []
    paid = flows = every = False
    for item in items:
        if item.kind in ("filler", "unknown"):
            words = {item.text, word_token(item.text).lemma} if item.text.isalpha() else set()
            paid, flows = paid or bool(words & PAY_VERBS), flows or bool(words & FLOW_VERBS)
            every = every or bool(words & _ALL)
            continue
        marks = {"after_pay": paid, "after_flow": flows, "after_all": every}
        kept.append(replace(item, **marks) if any(marks.values()) else item)
        paid = flows = every = False
    return kept


_ALL = {"all", "every", "any", "весь", "все", "всех", "любой"}


def _limit(s: Slots) -> int | None:
    """A ranking keeps the number asked for; one row for "which merchant", ten for a bare "top"; none otherwise."""
    if not s.ranked:
        return None
    return s.limit or (1 if s.singular else 10 if s.top_named else None)


def _order(s: Slots) -> tuple[Order, ...]:
    """A ranking orders by its measure; a series by time."""
    if s.ranked:
        by = next((m for m in s.measures if m.kind == s.rank_by), s.measures[0] if s.measures else None)
        if by is None:
            raise Declined("it found nothing to rank by (volume, number of payments ...)")
        return (Order(by.alias, s.descending),)
    return tuple(Order(d, descending=False) for d in s.dimensions if d in SERIES)
