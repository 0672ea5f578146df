"""The meaning of a question, independent of its wording: what to measure, by what, over which rows and when."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SERIES = ("day", "week", "month", "quarter", "year", "hour", "weekday")  # time buckets (weekday: ISO, 1 = Monday)
_PERIODS = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly", "year": "yearly",
            "hour": "hourly", "weekday": "weekday"}  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """One aggregate. ``kind`` is one of count, volume, avg, max, min, median, percentile (of the amount), first and
    last (the time of the first and last payment), unique_customers, unique_merchants, unique_cards,
    merchant_count, customer_count, share (of rows matching ``condition``; of all rows per group when None)."""

    kind: str
    condition: Filter | None = None  # share: the rows counted in the numerator
    basis: str = "count"  # share: count or volume
    of_series: str | None = None  # the average of a per-day (week, month, hour) count or volume
    per: str | None = None  # count or volume per customer (merchant, card): divided by the number of them
    p: float | None = None  # percentile: the fraction (0.9 for the 90th percentile)

    @property
    def alias(self) -> str:
        if self.kind == "share" and self.condition is not None:  # declined_share, ecom_volume_share
            name = re.sub(r"\W+", "_", "_".join(map(str, self.condition.values)).lower())
            negated, basis = "non_" * self.condition.negated, "volume_" * (self.basis == "volume")
            return f"{negated}{name}_{basis}share"
        if self.of_series:  # avg_daily_transactions, avg_weekly_volume
            return f"avg_{_PERIODS[self.of_series]}_{'transactions' if self.kind == 'count' else 'volume'}"
        if self.per:  # volume_per_customer, transactions_per_merchant
            return f"{'transactions' if self.kind == 'count' else 'volume'}_per_{self.per}"
        if self.kind == "percentile":
            return f"p{round(100 * (self.p or 0))}_amount"
        return _ALIASES[self.kind]


_ALIASES = {
    "count": "total_transactions",
    "volume": "total_volume",
    "avg": "avg_amount",
    "max": "max_amount",
    "min": "min_amount",
    "unique_customers": "unique_customers",
    "unique_merchants": "unique_merchants",
    "unique_cards": "unique_cards",
    "merchant_count": "merchant_count",
    "customer_count": "customer_count",
    "share": "share",  # each group's share of all rows
    "median": "median_amount",
    "first": "first_transaction",
    "last": "last_transaction",
}
GROUP_THRESHOLDS = ("count", "volume", "avg")  # Filter fields compared after grouping (HAVING)


@dataclass(frozen=True)
class Filter:
    """``field`` (a role of the semantic model: status, channel, currency, card_brand, city, customer_city, segment,
    category, mcc_code ...; amount, or brand: a merchant name's prefix)
    compared with ``values``: ``op`` is "in" for categorical fields, or gt, ge, lt, le, between for amounts."""

    field: str
    op: str
    values: tuple[object, ...]
    negated: bool = False


@dataclass(frozen=True)
class Window:
    """A time window. ``kind``: all (explicitly all of the data), today, yesterday, day_before, last (``n``
    ``unit``s: rolling days, or calendar weeks/months/years including the current one), hours (the last ``n``
    hours), this (since the start of the current ``unit``), previous (the whole previous calendar ``unit``), year
    (calendar ``year``), month (from day ``day_from`` of ``month`` to day ``day_to`` of ``month_to``, whole
    months when the days are None; in ``year`` if given, else the most recent such month), since (from that
    day on)."""

    kind: str
    n: int = 1
    unit: str = "day"
    month: int | None = None
    month_to: int | None = None
    day_from: int | None = None
    day_to: int | None = None
    year: int | None = None


@dataclass(frozen=True)
class Order:
    key: str  # a measure alias, a series name, or "amount"/"time" for listed transactions
    descending: bool = True


@dataclass(frozen=True)
class Intent:
    """What the builder turns into one SELECT."""

    source: str = "transactions"  # the table counted: transactions, or merchants / customers themselves
    measures: tuple[Measure, ...] = ()
    dimensions: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    window: Window | None = None
    order: tuple[Order, ...] = field(default_factory=tuple)
    limit: int | None = None
    listing: bool = False  # individual transactions rather than aggregates
    today: str | None = None  # the date parameter the window ends on (a notebook variable); None: current_date
    compare: tuple[Window, ...] = ()  # two periods side by side: one row, a column per period and the change
    growth: bool = False  # each bucket of the series with its change against the bucket before it
    absent: str | None = None  # list the merchants (customers, cards ...) with no payment in the window
    counted: str | None = None  # count the merchants (customers ...) whose group passes the thresholds
