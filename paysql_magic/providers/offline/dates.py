"""Time windows: found among the question's items, rendered as current_date-relative PostgreSQL conditions.

The forms follow the business conventions: "last N days" is ``>= current_date - (N - 1)``; "last week" and
"last month" are the last 7 and 30 days; "last N weeks/months" are calendar periods including the current one;
"this week/month/year" start at ``date_trunc``; a named month is the most recent one that has begun, written
relative to current_date so that the query stays right on any day it is re-run.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlglot import exp

from paysql_magic.errors import Declined
from paysql_magic.providers.offline.intent import Window
from paysql_magic.providers.offline.matcher import Item

_ROLLING_DAYS = {"day": 1, "week": 7, "month": 30, "quarter": 90, "year": 365}  # "last week" = the last 7 days
_RANGE_TO = ("to", "per", "and")  # "1-15", "с 1 по 15", "between 1 and 15"
_DAYS_BACK = {"today": 0, "yesterday": 1, "day_before": 2}


def _kind(items: list[Item], i: int) -> str | None:
    return items[i].kind if 0 <= i < len(items) else None


def _int(items: list[Item], i: int, low: int, high: int) -> int | None:
    if _kind(items, i) == "number" and float(items[i].value).is_integer() and low <= items[i].value <= high:
        return int(items[i].value)
    return None


def _day(items: list[Item], i: int) -> int | None:
    return _int(items, i, 1, 31)


def _year(items: list[Item], i: int) -> int | None:
    return _int(items, i, 1990, 2100)


def _named_month(items: list[Item], i: int) -> tuple[Window, int, int]:
    """The window around the month name at ``i`` with its first and last item: "в октябре", "15 ноября",
    "1-15 ноября", "с 1 по 15 ноября", "November 1-15", "from 1 October to 15 November", "October 2024"."""
    month = month_to = int(items[i].value)
    start = end = i
    day_from = day_to = None
    if (day := _day(items, i - 1)) is not None:
        day_from = day_to = day
        start = i - 1
        if _kind(items, i - 2) in _RANGE_TO and (first := _day(items, i - 3)) is not None:
            day_from, start = first, i - 3
    elif (day := _day(items, i + 1)) is not None and _year(items, i + 1) is None:
        day_from = day_to = day
        end = i + 1
        if _kind(items, i + 2) in _RANGE_TO and (last := _day(items, i + 3)) is not None:
            day_to, end = last, i + 3
    opened = _kind(items, start - 1) in ("from", "cmp")
    start -= opened
    closed = day_from != day_to
    if day_from is None and _kind(items, end + 1) == "and" and _kind(items, end + 2) == "month":  # "октябрь и ноябрь"
        month_to, end, closed = int(items[end + 2].value), end + 2, True
    elif opened and _kind(items, end + 1) in _RANGE_TO:  # "... по 15 ноября", "... to November 15", "... по ноябрь"
        j = end + 2
        if (day := _day(items, j)) is not None and _kind(items, j + 1) == "month":
            day_to, month_to, end, closed = day, int(items[j + 1].value), j + 1, True
        elif _kind(items, j) == "month":
            month_to, day_to, end, closed = int(items[j].value), _day(items, j + 1), j, True
            end += day_to is not None
    if (year := _year(items, end + 1)) is not None:
        end += 1
        end += _kind(items, end + 1) == "unit" and items[end + 1].value == "year"
    kind = "since" if opened and not closed else "month"
    return Window(kind, month=month, month_to=month_to, day_from=day_from, day_to=day_to, year=year), start, end


def _relative(items: list[Item], i: int) -> tuple[Window, int] | None:
    """today, yesterday, this month, last 7 days, за неделю, previous month, in 2024 ... starting at ``i``."""
    kind, value = items[i].kind, items[i].value
    if kind == "time":  # "сегодня", "за вчерашний день"
        return Window(str(value)), i + (_kind(items, i + 1) == "unit" and items[i + 1].value == "day")
    if kind == "this_unit":
        return Window("this", unit=str(value)), i
    if kind == "span":  # "за полгода"
        n, unit = value
        return Window("last", n=n, unit=unit), i
    n, unit_at = None, i + 1
    if kind == "number":
        n = _int(items, i, 1, 10_000)
    elif kind in ("last", "for", "in", "this") and _kind(items, i + 1) == "number":
        n, unit_at = _int(items, i + 1, 1, 10_000), i + 2
    if _kind(items, unit_at) != "unit" or (kind == "number" and n is None):
        if kind in ("in", "for") and (year := _year(items, i + 1)) is not None:
            return Window("year", year=year), i + 1  # "in 2024"
        return None
    unit = str(items[unit_at].value)
    if n is not None and unit == "year" and 1990 <= n <= 2100:
        return Window("year", year=n), unit_at  # "2024 год"
    if n is not None and kind == "last" and value == "previous" and unit == "day":
        return Window("prior", n=n), unit_at  # "the previous 7 days": the 7 days before the last 7
    if n is not None and unit == "day" and _kind(items, unit_at + 1) == "before":
        return Window("prior", n=n), unit_at + 1  # "the 7 days before"
    if n is not None:
        return Window("hours" if unit == "hour" else "last", n=n, unit=unit), unit_at
    if kind == "this":
        return (Window("today") if unit == "day" else Window("this", unit=unit)), unit_at
    if kind == "last" and value == "previous":
        return (Window("yesterday") if unit == "day" else Window("previous", unit=unit)), unit_at
    if kind in ("last", "for"):  # "за последний месяц", "last week", "за неделю" (but "в день" is a rate)
        if unit == "hour":
            return Window("hours", n=1, unit="hour"), unit_at
        return Window("last", n=_ROLLING_DAYS[unit]), unit_at
    return None


def find_window(items: list[Item], used: set[int]) -> Window | None:
    """The question's time window (None: all of the data); the items it was read from are added to ``used``."""
    found = find_windows(items, used)
    if len(found) > 1:
        raise Declined("it names more than one time window", rephrase="Сравни оборот за эту неделю с прошлой неделей")
    return found[0] if found else None


def find_windows(items: list[Item], used: set[int]) -> list[Window]:
    """Every time window the question names, in order (two for a comparison of periods)."""
    found: list[Window] = []
    i = 0
    while i < len(items):
        hit = None
        if i not in used and items[i].kind == "month":
            window, start, end = _named_month(items, i)
            hit = window, range(start, end + 1)
        elif i not in used and (relative := _relative(items, i)) is not None:
            hit = relative[0], range(i, relative[1] + 1)
        if hit is None or used.intersection(hit[1]):  # the "3" of "top 3 days" is a limit
            i += 1
            continue
        window, span = hit
        used.update(span)
        if window.kind != "all":
            found.append(window)
        i = span.stop
    return list(dict.fromkeys(found))


# --- SQL ------------------------------------------------------------------------------------------------------


def _days(n: int) -> exp.Expression:
    """current_date - n (current_date itself for 0)."""
    today = exp.CurrentDate()
    return today if n == 0 else exp.Sub(this=today, expression=exp.Literal.number(n))


def _interval(text: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(text))


def _trunc(unit: str, value: exp.Expression) -> exp.Expression:
    return exp.func("date_trunc", exp.Literal.string(unit), value)


def _minus(value: exp.Expression, n: int, unit: str) -> exp.Expression:
    if unit == "quarter":  # PostgreSQL intervals know no quarters
        n, unit = 3 * n, "month"
    return value if n == 0 else exp.Sub(this=value, expression=_interval(f"{n} {unit}{'s' if n > 1 else ''}"))


def _plus(value: exp.Expression, months: int, days: int) -> exp.Expression:
    parts = [f"{months} months"] * bool(months) + [f"{days} days"] * bool(days)
    return exp.Add(this=value, expression=_interval(" ".join(parts))) if parts else value


def _month_start(month: int, months: int = 0, days: int = 0) -> exp.Expression:
    """Day ``days`` after the start of ``month`` (+ ``months``) in the most recent year where that month began.

    date_trunc('year', current_date - interval 'k months') is this year's January when the month (k = month - 1)
    has begun this year, last year's otherwise; adding k months lands on the month.
    """
    k = month - 1
    return _plus(_trunc("year", _minus(exp.CurrentDate(), k, "month")), k + months, days)


def _date(value: date) -> exp.Expression:
    return exp.cast(exp.Literal.string(value.isoformat()), "date")


def _bounds(window: Window) -> tuple[exp.Expression, exp.Expression | None]:
    """The first instant of the window and the instant after its end (None: open-ended)."""
    kind, n, unit = window.kind, window.n, window.unit
    if kind in _DAYS_BACK:
        back = _DAYS_BACK[kind]
        end = exp.Add(this=exp.CurrentDate(), expression=exp.Literal.number(1)) if back == 0 else _days(back - 1)
        return _days(back), end
    if kind == "last" and unit == "day":
        return _days(n - 1), None
    if kind == "prior":
        return _days(2 * n - 1), _days(n - 1)
    if kind == "last":
        return _minus(_trunc(unit, exp.CurrentDate()), n - 1, unit), None
    if kind == "hours":
        return _minus(exp.CurrentTimestamp(), n, "hour"), None
    if kind == "this":
        return _trunc(unit, exp.CurrentDate()), None
    if kind == "previous":
        this = _trunc(unit, exp.CurrentDate())
        return _minus(this.copy(), 1, unit), this
    if kind == "year":
        return _date(date(window.year, 1, 1)), _date(date(window.year + 1, 1, 1))
    return _month_bounds(window)


def _month_bounds(window: Window) -> tuple[exp.Expression, exp.Expression | None]:
    month, month_to = window.month, window.month_to or window.month
    day_from, day_to = window.day_from or 1, window.day_to
    if window.year is not None:
        year_to = window.year + (month_to < month)
        start = date(window.year, month, day_from)
        end = (
            date(year_to, month_to, day_to) + timedelta(days=1)
            if day_to
            else date(year_to + month_to // 12, month_to % 12 + 1, 1)
        )
        return _date(start), None if window.kind == "since" else _date(end)
    start = _month_start(month, days=day_from - 1)
    if window.kind == "since":
        return start, None
    return start, _month_start(month_to, days=day_to) if day_to else _month_start(month_to, months=1)


def window_conditions(
    window: Window, column: exp.Expression, today: exp.Expression | None = None
) -> list[exp.Expression]:
    """``column`` (a timestamptz or date) inside the window: one or two comparisons.

    ``today`` (a date expression, e.g. a notebook variable's parameter) moves the window to end on that day
    instead of current_date: "today", "yesterday" and "last 30 days" are then relative to it.
    """
    start, end = _bounds(window)
    if today is not None:
        start, end = (_as_of(bound, today) if bound is not None else None for bound in (start, end))
        end = end if end is not None else exp.Add(this=today.copy(), expression=exp.Literal.number(1))
    return [column.copy() >= start] + ([] if end is None else [column.copy() < end])


def _as_of(bound: exp.Expression, today: exp.Expression) -> exp.Expression:
    """``bound`` with current_date read as ``today`` (and now as the end of that day)."""

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.CurrentDate):
            return today.copy()
        if isinstance(node, exp.CurrentTimestamp):
            return exp.cast(exp.Add(this=today.copy(), expression=exp.Literal.number(1)), "timestamptz")
        return node

    return bound.transform(swap)
