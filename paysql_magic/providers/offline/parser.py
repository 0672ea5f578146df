"""Question -> Intent: the lexicon's concepts are read in a fixed order, each step taking what it understands.

Top-N and limits, the time window, single transactions to list, amount thresholds, the share, value filters,
breakdowns, and last the measures with the ranking they imply. A question with words nobody understood, a
request to change data, or a comparison is declined: the provider never guesses.
"""

from __future__ import annotations

from collections.abc import Mapping

from paysql_magic.errors import Declined
from paysql_magic.providers.offline import breakdowns, filters
from paysql_magic.providers.offline.dates import find_window
from paysql_magic.providers.offline.intent import SERIES, Filter, Intent, Measure, Order
from paysql_magic.providers.offline.matcher import Item, Matcher
from paysql_magic.providers.offline.measures import measures
from paysql_magic.providers.offline.reading import Reading, Slots
from paysql_magic.providers.offline.refine import Change, refine
from paysql_magic.providers.offline.resolve import resolve
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
        window = find_window(r.items, r.used)
        listed = breakdowns.listing(r, s)
        found, share = _filters(r)
        if listed is None:
            breakdowns.dimensions(r, s)
            measures(r, s, share, found)
        _all_read(r)
        if s.ranked and len(dict.fromkeys(s.dimensions)) > 1 and listed is None:
            raise Declined("a top N within each group («в каждой категории», “in each city”) needs a language model")
        intent = Intent(
            measures=tuple(s.measures),
            dimensions=tuple(dict.fromkeys(s.dimensions)),
            filters=tuple(found),
            window=window,
            order=(listed,) if listed is not None else _order(s),
            limit=s.limit if listed is not None else (s.limit or (1 if s.singular else 10)) if s.ranked else None,
            listing=listed is not None,
        )
        return resolve(intent, r, self.model)

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
        r = Reading([item for item in items if item.kind not in ("filler", "unknown")])
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


def _order(s: Slots) -> tuple[Order, ...]:
    """A ranking orders by its measure; a series by time."""
    if s.ranked:
        return (Order(next(m.alias for m in s.measures if m.kind == s.rank_by), s.descending),)
    return tuple(Order(d, descending=False) for d in s.dimensions if d in SERIES)
