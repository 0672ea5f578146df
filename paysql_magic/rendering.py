"""How an answer reads in the notebook: money with two decimals, counts with thousands separators, never 3.5e+09.

Only the rendering changes: the DataFrame the analyst gets (``-o``, ``_``) is the one the executor returned, its
dtypes and values untouched. ``register`` installs IPython display formatters (HTML and plain text) for DataFrames
that apply a ``Layout`` only to the frames ``remember`` was told about (by identity, held weakly); every other
DataFrame renders as before (through the formatter that was there, or pandas' own).

Which columns are money comes from the semantic model (its fact's amount column: whatever the SQL computes from
it, except a COUNT of it, is money, through CTEs and subqueries too) and the SQL; without a model, from the column
names (amount, volume, turnover, revenue, sum). Integer columns computed by the SQL (COUNT, SUM, ...) get thousands
separators; a bare column (an id, a code, a year) is shown as stored. Separators follow the question's language:
``1,234,567.89`` in English, ``1 234 567,89`` in Russian (non-breaking spaces), or ``Ask.number_format``.
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from paysql_magic.semantic.model import SemanticModel

MONEY, MEASURE, PLAIN = "money", "measure", "plain"
FORMATS = ("auto", "en", "ru", "raw")
_MONEY_NAMES = re.compile(r"amount|volume|turnover|revenue|(?:^|_)sum(?:$|_)|(?:^|_)kzt(?:$|_)", re.IGNORECASE)
_SEPARATORS = {"en": (",", "."), "ru": ("\u00a0", ",")}


@dataclass(frozen=True)
class Layout:
    """How each column of one answer is shown: ``money``, ``measure`` (a computed number) or ``plain``."""

    kinds: dict[str, str] = field(default_factory=dict)
    lang: str = "en"


def language(question: str | None) -> str:
    """``ru`` when the question has Cyrillic letters, else ``en``."""
    return "ru" if question and re.search("[а-яё]", question, re.IGNORECASE) else "en"


def layout(frame: pd.DataFrame, sql: str | None, model: SemanticModel | None, lang: str = "en") -> Layout:
    """The layout of ``frame``, the result of ``sql`` on a database described by ``model``."""
    money, computed = _from_sql(sql or "", model.amount if model is not None else None)
    kinds: dict[str, str] = {}
    for column in frame.columns:
        series = frame[column]
        if not _is_number(series):
            continue
        name = str(column)
        derived = computed is None or name.lower() in computed
        if money is not None:
            is_money = name.lower() in money
        else:  # no model, or SQL that does not parse: the column's name
            is_money = bool(_MONEY_NAMES.search(name)) and (derived or not pd.api.types.is_integer_dtype(series))
        if is_money:
            kinds[name] = MONEY
        elif derived or not pd.api.types.is_integer_dtype(series):
            kinds[name] = MEASURE
        else:
            kinds[name] = PLAIN
    return Layout(kinds, lang)


def formatters(frame: pd.DataFrame, spec: Layout) -> dict[str, Any]:
    """Per-column value formatters for ``DataFrame.to_html`` / ``to_string``."""
    thousands, point = _SEPARATORS.get(spec.lang, _SEPARATORS["en"])
    out: dict[str, Any] = {}
    for column in frame.columns:
        kind = spec.kinds.get(str(column))
        if kind is None:
            continue
        series = frame[column]
        if kind == MONEY:
            decimals = 2
        elif pd.api.types.is_integer_dtype(series) or _integral(series):
            decimals = 0
        else:
            biggest = series.abs().max() if len(series) else 0
            decimals = 2 if pd.isna(biggest) or float(biggest) >= 1 else 4
        grouped = kind != PLAIN
        out[column] = _formatter(decimals, grouped, thousands, point)
    return out


def to_html(frame: pd.DataFrame, spec: Layout) -> str:
    """The frame as pandas' notebook HTML, with the layout's formatters."""
    return frame.to_html(
        formatters=formatters(frame, spec),
        notebook=True,
        max_rows=pd.get_option("display.max_rows"),
        max_cols=pd.get_option("display.max_columns"),
        show_dimensions=pd.get_option("display.show_dimensions"),
    )


def to_text(frame: pd.DataFrame, spec: Layout, **options: Any) -> str:
    """The frame as text (the notebook's plain rendering, the CLI), with the layout's formatters."""
    defaults = {
        "max_rows": pd.get_option("display.max_rows"),
        "min_rows": pd.get_option("display.min_rows"),
        "max_cols": pd.get_option("display.max_columns"),
        "show_dimensions": pd.get_option("display.show_dimensions"),
    }
    return frame.to_string(formatters=formatters(frame, spec), **{**defaults, **options})


# the notebook's formatters ------------------------------------------------------------------------------------
_layouts: dict[int, tuple[weakref.ref, Layout]] = {}


def remember(frame: pd.DataFrame, spec: Layout) -> None:
    """Render ``frame`` (this object, not copies of it) with ``spec`` from now on."""
    key = id(frame)
    _layouts[key] = (weakref.ref(frame, lambda _ref, key=key: _layouts.pop(key, None)), spec)


def layout_of(frame: object) -> Layout | None:
    entry = _layouts.get(id(frame))
    return entry[1] if entry is not None and entry[0]() is frame else None


def register(shell: Any) -> None:
    """Install the DataFrame formatters on ``shell`` once (keeping any formatter that was there for the rest)."""
    formatter = getattr(shell, "display_formatter", None)
    if formatter is None or getattr(formatter, "_paysql_frames", False):
        return
    html = formatter.formatters["text/html"]
    plain = formatter.formatters["text/plain"]
    previous_html, previous_plain = _printer(html), _printer(plain)

    def as_html(frame: pd.DataFrame) -> str | None:
        spec = layout_of(frame)
        if spec is not None:
            return to_html(frame, spec)
        return previous_html(frame) if previous_html is not None else frame._repr_html_()

    def as_text(frame: pd.DataFrame, printer: Any, cycle: bool) -> None:
        spec = layout_of(frame)
        if spec is not None:
            printer.text(to_text(frame, spec, line_width=pd.get_option("display.width")))
        elif previous_plain is not None:
            previous_plain(frame, printer, cycle)
        else:
            printer.text(repr(frame))

    html.for_type(pd.DataFrame, as_html)
    plain.for_type(pd.DataFrame, as_text)
    formatter._paysql_frames = True


# internals ----------------------------------------------------------------------------------------------------
def _printer(formatter: Any) -> Any:
    """The printer another library registered for DataFrames (by type or by name), or None."""
    try:
        return formatter.lookup_by_type(pd.DataFrame)
    except KeyError:
        return None


def _is_number(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    return series.dtype == object and len(series) > 0 and all(isinstance(v, Decimal) or v is None for v in series)


def _integral(series: pd.Series) -> bool:
    values = series.dropna()
    try:
        return len(values) > 0 and all(float(v).is_integer() for v in values)
    except (TypeError, ValueError):
        return False


def _formatter(decimals: int, grouped: bool, thousands: str, point: str):
    spec = f"{',' if grouped else ''}.{decimals}f"

    def fmt(value: Any) -> str:
        if value is None or value is pd.NA:
            return "<NA>" if value is pd.NA else "None"
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        try:
            text = format(value, spec)
        except (TypeError, ValueError):
            return str(value)
        return text.replace(",", "\0").replace(".", point).replace("\0", thousands)

    return fmt


def _from_sql(sql: str, amount: str | None) -> tuple[set[str] | None, set[str] | None]:
    """From the SQL: the output columns that are money (computed from ``amount`` or from another money column of
    a CTE or subquery; None without ``amount`` or when the SQL does not parse), and those the SQL computes rather
    than passes through (None when it does not parse)."""
    try:
        from sqlglot import exp, parse_one

        tree = parse_one(sql, read="postgres")
    except Exception:
        return None, None
    if tree is None:
        return None, None
    money_names: set[str] = set()
    computed: set[str] = set()
    selects = list(tree.find_all(exp.Select))
    for select in reversed(selects):  # innermost first: a CTE's money column makes the outer use of it money
        for projection in select.expressions:
            name = projection.alias_or_name.lower()
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if not isinstance(inner, exp.Column):
                computed.add(name)
            if amount is not None and _is_money(inner, amount.lower(), money_names):
                money_names.add(name)
    outer = selects[0] if selects else None
    names = {p.alias_or_name.lower() for p in outer.expressions} if outer is not None else set()
    return (money_names & names if amount is not None else None), computed & names


def _is_money(node, amount: str, money_names: set[str]) -> bool:
    """Whether an expression's value is money: computed from the amount (or a money column of a CTE) other than by
    counting it, comparing it (a CASE condition, a window's ORDER BY) or dividing money by money (a share)."""
    from sqlglot import exp

    if node is None:
        return False
    if isinstance(node, exp.Column):
        return node.name.lower() == amount or node.name.lower() in money_names
    if isinstance(node, exp.Count):
        return False
    if isinstance(node, exp.Div):
        return _is_money(node.this, amount, money_names) and not _is_money(node.expression, amount, money_names)
    if isinstance(node, exp.If):
        return _is_money(node.args.get("true"), amount, money_names)
    if isinstance(node, exp.Window):
        return _is_money(node.this, amount, money_names)
    if isinstance(node, exp.Select):
        return any(_is_money(p, amount, money_names) for p in node.expressions)
    if isinstance(node, (exp.Where, exp.Predicate, exp.Connector, exp.Order)):
        return False
    return any(_is_money(child, amount, money_names) for child in node.iter_expressions())
