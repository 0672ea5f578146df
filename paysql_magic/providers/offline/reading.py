"""The state the parsing steps share: the question's items (and which are understood), and the slots found."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from paysql_magic.providers.offline.intent import Measure
from paysql_magic.providers.offline.matcher import Item


class Reading:
    """The question's meaningful items with the set of those already understood (``used``)."""

    def __init__(self, items: list[Item], city_roles: bool = False) -> None:
        self.items = items
        self.used: set[int] = set()
        self.city_roles = city_roles  # the model tells a customer's city from the city where payments happen

    def kind(self, i: int | None) -> str | None:
        return self.items[i].kind if i is not None and 0 <= i < len(self.items) else None

    def value(self, i: int | None) -> object:
        return self.items[i].value if i is not None and 0 <= i < len(self.items) else None

    def is_(self, i: int | None, kind: str, *values: object) -> bool:
        return self.kind(i) == kind and (not values or self.value(i) in values)

    def free(self, kinds: Iterable[str]) -> list[int]:
        """Indexes of the items of these kinds not used yet."""
        wanted = set(kinds)
        return [i for i, item in enumerate(self.items) if i not in self.used and item.kind in wanted]

    def has(self, kind: str, *values: object) -> bool:
        return any(self.is_(i, kind, *values) for i in range(len(self.items)))

    def next_index(self, i: int | None, kinds: tuple[str, ...], skip: tuple[str, ...], limit: int = 4) -> int | None:
        """The first item after ``i`` of one of ``kinds``, passing over at most ``limit`` items of ``skip``."""
        if i is None:
            return None
        for j in range(i + 1, min(len(self.items), i + 2 + limit)):
            if self.kind(j) in kinds:
                return j
            if self.kind(j) not in skip:
                return None
        return None

    def is_dimension(self, i: int | None) -> bool:
        return self.kind(i) == "entity" and self.value(i) != "transaction"

    def use(self, *indexes: int | None) -> None:
        self.used.update(i for i in indexes if i is not None)


@dataclass
class Slots:
    """What the steps have read so far, besides filters and the time window."""

    dimensions: list[str] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    limit: int | None = None
    limit_at: int | None = None  # the item that gave the ranking or the limit: "топ", "5"
    ranked: bool = False  # top-N or a superlative: order by a measure
    descending: bool = True
    rank_by: str | None = None  # the measure kind the ranking uses
    singular: bool = False  # "which merchant": one row; "which merchants": ten
    asked: bool = False  # a breakdown asked for: "у какого мерчанта самый крупный платеж", "где"
    top_named: bool = False  # "топ", "top", "bottom" said: a ranking without a number keeps ten rows
    per: str | None = None  # "per customer", «на одного клиента»: measures divided by the number of them

    def add(self, kind: str, *, of_series: str | None = None) -> None:
        measure = Measure(kind, of_series=of_series)
        if measure not in self.measures:
            self.measures.append(measure)

    def rank(self, by: str, descending: bool) -> None:
        self.ranked, self.rank_by, self.descending = True, by, descending
