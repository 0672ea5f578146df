"""Charts chosen by fixed rules over a result's shape: never from code written by a model.

- a time series (a column named day/week/month/quarter/year/hour, or a datetime column, plus numeric measures)
  -> one line chart per measure, stacked on a shared time axis (a count and a KZT volume keep their own scales),
  ordered by time;
- a breakdown (exactly one text or category column plus numeric measures, at most ``MAX_BARS`` rows) -> a
  horizontal bar chart of the first measure, sorted by it, the largest on top;
- anything else (a scalar, several text columns, an empty result...) -> no chart.

Titles are the question; axis labels follow the question's language (Cyrillic -> Russian, else English); money
columns (total_volume, avg_amount, amount*, *_kzt, *volume*) get thousands separators and "KZT". A dimension column
is labelled by the semantic model: the column of a role (or a column named as the role) gets the role's label,
"Merchant" / "Мерчант" for the merchant role's column whatever the database calls it.

Library: matplotlib, rendered to a static PNG (``png_bytes``). A PNG is a plain ``image/png`` output: it shows in
Jupyter, is kept by nbclient when a notebook is executed headless, and lands in nbconvert's HTML as an ``<img>``
with no JavaScript, no widget state and no notebook trust needed, unlike Plotly, Bokeh or Altair output.
Figures are built as ``matplotlib.figure.Figure`` objects rendered by the Agg canvas, outside pyplot: no GUI
backend is touched, headless or not, and no figure stays registered (open) once its PNG is taken.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

if TYPE_CHECKING:
    from paysql_magic.semantic.model import SemanticModel

TIME_COLUMNS = ("hour", "day", "week", "month", "quarter", "year")
MAX_BARS = 40

_LABELS = {
    "en": {
        "hour": "Hour",
        "day": "Day",
        "week": "Week",
        "month": "Month",
        "quarter": "Quarter",
        "year": "Year",
        "date": "Date",
        "total_volume": "Volume",
        "avg_amount": "Average amount",
        "total_transactions": "Transactions",
        "calls": "Calls",
    },
    "ru": {
        "hour": "Час",
        "day": "День",
        "week": "Неделя",
        "month": "Месяц",
        "quarter": "Квартал",
        "year": "Год",
        "date": "Дата",
        "total_volume": "Объем",
        "avg_amount": "Средняя сумма",
        "total_transactions": "Транзакции",
        "calls": "Вызовы",
    },
}
ROLE_LABELS = {  # the semantic model's role names -> (English, Russian) axis labels
    "merchant": ("Merchant", "Мерчант"),
    "customer": ("Customer", "Клиент"),
    "category": ("Category", "Категория"),
    "mcc_code": ("MCC code", "Код MCC"),
    "city": ("City", "Город"),
    "customer_city": ("Customer city", "Город клиента"),
    "country": ("Country", "Страна"),
    "region": ("Region", "Регион"),
    "segment": ("Segment", "Сегмент"),
    "currency": ("Currency", "Валюта"),
    "channel": ("Channel", "Канал"),
    "status": ("Status", "Статус"),
    "card_brand": ("Payment system", "Платёжная система"),
    "card_type": ("Card type", "Тип карты"),
    "card": ("Card", "Карта"),
    "terminal": ("Terminal", "Терминал"),
    "bank": ("Bank", "Банк"),
}
_THOUSANDS = {"en": ",", "ru": "\u00a0"}  # Russian groups digits with a (non-breaking) space


def language(question: str | None) -> str:
    """``ru`` when the question has Cyrillic letters, else ``en``."""
    return "ru" if question and re.search("[а-яё]", question, re.IGNORECASE) else "en"


def is_money(column: str) -> bool:
    name = column.lower()
    return name == "avg_amount" or name.startswith("amount") or name.endswith("_kzt") or "volume" in name


def label(column: str, lang: str, model: SemanticModel | None = None) -> str:
    """The axis label of a column in the question's language, with ", KZT" for money: a measure's or time bucket's
    label, else the label of the role whose column it is in ``model`` (or the role it is named after), else the
    column's name."""
    name = str(column).lower()
    text = _LABELS[lang].get(name) or _role_label(name, lang, model) or str(column)
    return f"{text}, KZT" if is_money(str(column)) else text


def _role_label(column: str, lang: str, model: SemanticModel | None) -> str | None:
    role = column if column in ROLE_LABELS else None
    if model is not None:
        if column in model.roles:
            role = column
        elif role is None:
            role = next((r.name for r in model.roles.values() if r.column.lower() == column), None)
    if role is None:
        return None
    en, ru = ROLE_LABELS.get(role) or (role.replace("_", " ").capitalize(),) * 2
    return ru if lang == "ru" else en


def money_format(value: float, lang: str) -> str:
    """``1,234,567 KZT`` (en) or ``1 234 567 KZT`` (ru, non-breaking spaces)."""
    return f"{value:,.0f}".replace(",", _THOUSANDS[lang]) + " KZT"


def chart(frame: pd.DataFrame, question: str | None, *, model: SemanticModel | None = None) -> Figure | None:
    """The chart for ``frame`` by the module's rules, or None when its shape calls for no chart; ``model`` (the
    semantic model the answer was made with) labels its dimension columns."""
    if frame is None or frame.empty:
        return None
    measures = [c for c in frame.columns if _is_numeric(frame[c])]
    time = _time_column(frame)
    lang = language(question)
    if time is not None:
        measures = [c for c in measures if c != time]
        return _line(frame, time, measures, question, lang, model) if measures and len(frame) > 1 else None
    others = [c for c in frame.columns if c not in measures]
    if len(others) == 1 and measures and len(frame) <= MAX_BARS:
        return _bars(frame, others[0], measures[0], question, lang, model)
    return None


def png_bytes(figure: Figure) -> bytes:
    """The figure as a PNG."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _time_column(frame: pd.DataFrame) -> str | None:
    for column in frame.columns:
        if str(column).lower() in TIME_COLUMNS or pd.api.types.is_datetime64_any_dtype(frame[column]):
            return column
    return None


def _line(
    frame: pd.DataFrame,
    time: str,
    measures: list[str],
    question: str | None,
    lang: str,
    model: SemanticModel | None = None,
) -> Figure:
    data = frame.sort_values(time)
    figure = Figure(figsize=(9, 2.2 + 1.8 * len(measures)), layout="constrained")
    axes = figure.subplots(len(measures), 1, sharex=True, squeeze=False)[:, 0]
    for ax, measure in zip(axes, measures, strict=True):
        ax.plot(data[time], data[measure].astype(float), marker="o", markersize=3)
        ax.set_ylabel(label(measure, lang, model))
        ax.grid(True, alpha=0.3)
        _format_values(ax.yaxis, measure, lang)
    axes[-1].set_xlabel(_LABELS[lang].get(str(time).lower(), _LABELS[lang]["date"]))
    figure.autofmt_xdate(rotation=30)  # dates side by side would overlap
    figure.suptitle(question or "")
    return figure


def _bars(
    frame: pd.DataFrame,
    category: str,
    measure: str,
    question: str | None,
    lang: str,
    model: SemanticModel | None = None,
) -> Figure:
    data = frame.sort_values(measure)  # ascending: barh draws from the bottom, so the largest is on top
    figure = Figure(figsize=(9, 1.5 + 0.35 * len(data)), layout="constrained")
    ax = figure.subplots()
    ax.barh(data[category].astype(str), data[measure].astype(float))
    ax.set_xlabel(label(measure, lang, model))
    ax.set_ylabel(label(category, lang, model))
    ax.grid(True, axis="x", alpha=0.3)
    _format_values(ax.xaxis, measure, lang)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # "10,000,000 KZT" is wide: fewer ticks, no overlap
    ax.set_title(question or "")
    return figure


def _format_values(axis, column: str, lang: str) -> None:
    fmt = money_format if is_money(column) else _plain
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt(value, lang)))


def _plain(value: float, lang: str) -> str:
    return f"{value:,.0f}".replace(",", _THOUSANDS[lang]) if abs(value) >= 1000 else f"{value:g}"


_PERIODS = {  # time bucket -> (its length, "partial <unit>" in English and Russian)
    "hour": (pd.DateOffset(hours=1), "partial hour", "неполный час"),
    "day": (pd.DateOffset(days=1), "partial day", "неполный день"),
    "week": (pd.DateOffset(weeks=1), "partial week", "неполная неделя"),
    "month": (pd.DateOffset(months=1), "partial month", "неполный месяц"),
    "quarter": (pd.DateOffset(months=3), "partial quarter", "неполный квартал"),
    "year": (pd.DateOffset(years=1), "partial year", "неполный год"),
}


def current_period(frame: pd.DataFrame, now) -> str | None:
    """The unit (``day``, ``week`` ...) of the time series in ``frame`` when its last bucket is still running at
    ``now`` (the database's wall-clock time), else None. The unit is the time column's name, or read from the gaps
    between its values; an hour-of-day number (no date) is never partial."""
    time = _time_column(frame) if frame is not None and not frame.empty else None
    if time is None or now is None:
        return None
    values = pd.to_datetime(frame[time].dropna(), errors="coerce").dropna().sort_values()
    if values.empty or not pd.api.types.is_datetime64_any_dtype(values):
        return None
    if values.dt.tz is not None:
        values = values.dt.tz_localize(None)  # wall-clock time in the data's own zone
    unit = str(time).lower() if str(time).lower() in _PERIODS else _unit_from_gaps(values)
    if unit is None:
        return None
    last = values.iloc[-1]
    now = pd.Timestamp(now)
    if now.tzinfo is not None:
        now = now.tz_localize(None)
    return unit if last <= now < last + _PERIODS[unit][0] else None


def mark_partial(figure: Figure, frame: pd.DataFrame, now, question: str | None) -> bool:
    """Mark the last point of each line as a period still running (dashed, hollow, labelled "partial day"), when it
    is one; returns whether it did."""
    unit = current_period(frame, now)
    if unit is None:
        return False
    text = _PERIODS[unit][2 if language(question) == "ru" else 1]
    for ax in figure.axes:
        for line in list(ax.get_lines()):
            x, y = line.get_xdata(), line.get_ydata()
            if len(x) < 2:
                continue
            line.set_data(x[:-1], y[:-1])
            color = line.get_color()
            ax.plot(x[-2:], y[-2:], linestyle="--", color=color)
            ax.plot(x[-1:], y[-1:], linestyle="", marker="o", markersize=5, color=color, markerfacecolor="white")
            ax.annotate(
                text, (x[-1], y[-1]), xytext=(-6, 7), textcoords="offset points", ha="right", fontsize=8, color="0.35"
            )
    return True


def _unit_from_gaps(values: pd.Series) -> str | None:
    if len(values) < 2:
        return None
    days = values.diff().dropna().median() / pd.Timedelta(days=1)
    for unit, low, high in (
        ("hour", 0.03, 0.05),
        ("day", 0.9, 1.1),
        ("week", 6.5, 7.5),
        ("month", 27, 32),
        ("quarter", 88, 93),
        ("year", 364, 367),
    ):
        if low <= days <= high:
            return unit
    return None
