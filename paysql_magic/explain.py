"""A short explanation of a query in the question's language (Russian for Cyrillic questions, else English).

A provider with an ``explain(prompt_text) -> str`` method (Gemini, Ollama) is asked for 2-4 sentences; any
other provider (offline, scripted) gets a deterministic description built from the SQL with sqlglot: the
measures, tables, filters, time window, grouping, ordering and limit. The deterministic path never fails: on
anything unexpected it falls back to a sentence naming the tables.

What a measure means in business terms comes from the semantic model the answer was made with: the sum or average
of its amount column (divided by its divisor when amounts are in minor units) is the volume or average amount in
tenge, and ``COUNT(*)`` over its fact table is the number of transactions. Without a model the wording is generic
("the sum of amount", "the number of rows").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from paysql_magic.providers.structured import one_line

if TYPE_CHECKING:
    from paysql_magic.semantic.model import SemanticModel

MAX_CHARS = 600
LANGUAGES = {"ru": "Russian", "en": "English"}

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_DAYS_BACK = re.compile(r"CURRENT_DATE - (\d+)")
_TODAY = "CURRENT_DATE"
_TOMORROW = "CURRENT_DATE + 1"
_YESTERDAY = "CURRENT_DATE - 1"
_MONTH_START = "DATE_TRUNC('MONTH', CURRENT_DATE)"
_UNITS = {
    "ru": {"DAY": "дням", "WEEK": "неделям", "MONTH": "месяцам", "HOUR": "часам"},
    "en": {"DAY": "day", "WEEK": "week", "MONTH": "month", "HOUR": "hour"},
}


def language(question: str) -> str:
    """``"ru"`` when ``question`` has Cyrillic letters, else ``"en"``."""
    return "ru" if _CYRILLIC.search(question) else "en"


def prompt_text(question: str, sql: str) -> str:
    """The request sent to a remote provider's ``explain``."""
    return (
        f"Explain in 2-4 sentences, in {LANGUAGES[language(question)]}, for a payments analyst, what this "
        "PostgreSQL query computes: which table(s), filters, time window, grouping, ordering and limit. "
        "Reply with plain text only.\n\n"
        f"Question: {question}\n\nSQL:\n{sql}"
    )


def explain(
    question: str, sql: str, provider: object, *, model: SemanticModel | None = None, plan: str | None = None
) -> str:
    """One paragraph explaining ``sql``; a remote provider's ``ProviderError`` is raised as is. ``model`` (the
    semantic model the answer was made with) names the amount and the fact table of the deterministic text;
    ``plan`` (the answer's plan line, in plan mode) comes first, so the analyst reviews meaning before joins."""
    remote = getattr(provider, "explain", None)
    lead = f"Plan: {plan}.\n" if plan else ""  # a line of its own
    if callable(remote):
        return lead + one_line(remote(prompt_text(question, sql)), MAX_CHARS)
    return lead + describe(sql, language(question), model=model)


def describe(sql: str, lang: str, *, model: SemanticModel | None = None) -> str:
    """A deterministic description of ``sql`` in ``lang`` (``"ru"`` or ``"en"``); never raises."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
        if not isinstance(tree, exp.Select):
            return _generic(_tables_in(sql, tree), lang)
        return _Describer(tree, lang, model).text()
    except Exception:  # any parser or rendering surprise falls back to the generic sentence
        return _generic(_tables_in(sql, None), lang)


def _tables_in(sql: str, tree: exp.Expression | None) -> list[str]:
    if tree is not None:
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        return list(
            dict.fromkeys(
                ".".join(filter(None, (t.db, t.name))) for t in tree.find_all(exp.Table) if t.name not in ctes
            )
        )
    return list(dict.fromkeys(re.findall(r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)", sql, re.I)))


def _generic(tables: list[str], lang: str) -> str:
    if lang == "ru":
        return f"Запрос читает таблицы: {', '.join(tables)}." if tables else "Запрос не удалось разобрать."
    return f"The query reads: {', '.join(tables)}." if tables else "The query could not be described."


def _sql(node: exp.Expression) -> str:
    return node.unnest().sql(dialect="postgres")


def _name(node: exp.Expression) -> str:
    return node.name if isinstance(node, exp.Column) else _sql(node)


def _bare(node: exp.Expression) -> exp.Expression:
    """``node`` without the wrappers that keep its meaning: parentheses, casts, ROUND."""
    while isinstance(node, (exp.Paren, exp.Cast, exp.Round)):
        node = node.this
    return node


def _table_key(name: str) -> tuple[str | None, str]:
    """(schema, table) of a table as SQL writes it, quotes dropped and case folded: comparable across spellings."""
    schema, _, table = name.replace('"', "").lower().rpartition(".")
    return schema or None, table


class _Describer:
    def __init__(self, tree: exp.Select, lang: str, model: SemanticModel | None = None) -> None:
        self.tree = tree
        self.lang = lang
        self.ru = lang == "ru"
        self.model = model
        self.tables = _tables_in("", tree)
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        self.sources = {  # alias (or the table's name) -> (schema, table)
            t.alias_or_name.lower(): (t.db.lower() or None, t.name.lower())
            for t in tree.find_all(exp.Table)
            if t.name not in ctes
        }

    def text(self) -> str:
        measures = [m for m in (self._measure(p) for p in self.tree.expressions) if m]
        window, conditions = self._where()
        if measures:
            head = ("Запрос считает " if self.ru else "The query computes ") + _join(measures, self.ru)
        else:
            head = "Запрос выбирает строки" if self.ru else "The query lists rows"
        if groups := self._groups():
            head += (" по " if self.ru else " by ") + ", ".join(groups)
        if window:
            head += f" {window}"
        head += f" {self._source()}."
        sentences = [head]
        if conditions:
            sentences.append(("Условия: " if self.ru else "Conditions: ") + "; ".join(conditions) + ".")
        if order := self._order():
            sentences.append(order)
        return " ".join(sentences)

    def _source(self) -> str:
        tables = ", ".join(self.tables)
        if len(self.tables) == 1:
            return f"в таблице {tables}" if self.ru else f"from the {tables} table"
        return f"в таблицах {tables}" if self.ru else f"from tables {tables}"

    def _measure(self, projection: exp.Expression) -> str | None:
        node = projection.unalias()
        if not node.find(exp.AggFunc):
            return None
        if node.find(exp.Div) and (kept := node.find(exp.Filter)):
            condition = _sql(kept.expression.this)
            return f"долю (%) строк с условием {condition}" if self.ru else f"the share (%) of rows with {condition}"
        node = _bare(node)
        if isinstance(node, exp.Count):
            return self._count(node)
        agg, scaled = node, False
        if (
            isinstance(node, exp.Div)
            and isinstance(_bare(node.this), exp.AggFunc)
            and self._is_divisor(node.expression)
        ):
            agg, scaled = _bare(node.this), True  # SUM(amount) / 100.0
        if isinstance(agg, (exp.Sum, exp.Avg)) and self._in_tenge(agg.this, scaled):
            volume = isinstance(agg, exp.Sum)
            ru, en = (
                ("объем в тенге", "volume in KZT") if volume else ("среднюю сумму в тенге", "average amount in KZT")
            )
            return ru if self.ru else en
        column = _name(node.this) if isinstance(node, exp.AggFunc) and node.this else None
        phrases = {
            exp.Sum: (f"сумму {column}", f"the sum of {column}"),
            exp.Avg: (f"среднее {column}", f"the average {column}"),
            exp.Max: (f"максимум {column}", f"the maximum {column}"),
            exp.Min: (f"минимум {column}", f"the minimum {column}"),
        }
        label = projection.alias or _sql(node)
        ru, en = phrases.get(type(node), (f"показатель {label}", label))
        return ru if self.ru else en

    def _in_tenge(self, argument: exp.Expression | None, scaled: bool) -> bool:
        """Whether an aggregate's argument is the model's amount in tenge: the amount itself when it is stored in
        tenge, ``amount / divisor`` (inside, or outside when ``scaled``) when it is stored in minor units."""
        if self.model is None or self.model.amount is None or argument is None:
            return False
        argument = _bare(argument)
        if self.model.divisor == 1:
            return not scaled and self._is_amount(argument)
        if scaled:
            return self._is_amount(argument)
        return (
            isinstance(argument, exp.Div) and self._is_amount(argument.this) and self._is_divisor(argument.expression)
        )

    def _is_divisor(self, node: exp.Expression) -> bool:
        node = _bare(node)
        if self.model is None or self.model.divisor == 1 or not isinstance(node, exp.Literal) or node.is_string:
            return False
        try:
            return float(node.this) == self.model.divisor
        except ValueError:
            return False

    def _is_amount(self, node: exp.Expression) -> bool:
        """Whether ``node`` is the model's amount column of its fact table (by alias, name, or unqualified)."""
        node = _bare(node)
        if not isinstance(node, exp.Column) or self.model is None or self.model.amount is None:
            return False
        if node.name.lower() != self.model.amount.lower():
            return False
        if node.table:
            source = self.sources.get(node.table.lower())
            return source is not None and self._is_fact(source)
        return self._reads_fact()

    def _is_fact(self, source: tuple[str | None, str]) -> bool:
        if self.model is None:
            return False
        schema, table = _table_key(self.model.fact.table)
        return source[1] == table and (source[0] is None or schema is None or source[0] == schema)

    def _reads_fact(self) -> bool:
        return any(self._is_fact(source) for source in self.sources.values())

    def _count(self, node: exp.Count) -> str:
        if isinstance(node.this, exp.Star):
            if self._reads_fact():
                return "число транзакций" if self.ru else "the number of transactions"
            return "число строк" if self.ru else "the number of rows"
        if isinstance(node.this, exp.Distinct):
            columns = ", ".join(_name(e) for e in node.this.expressions)
            return f"число уникальных {columns}" if self.ru else f"the number of distinct {columns}"
        return f"число значений {_name(node.this)}" if self.ru else f"the number of {_name(node.this)} values"

    def _groups(self) -> list[str]:
        group = self.tree.args.get("group")
        if not group:
            return []
        aliases = {p.alias: p.unalias() for p in self.tree.expressions if p.alias}
        return [self._group_name(aliases.get(g.name, g) if isinstance(g, exp.Column) else g) for g in group.expressions]

    def _group_name(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE:
            return _UNITS[self.lang]["DAY"]
        if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
            return _UNITS[self.lang].get(node.unit.name.upper(), _sql(node)) if node.unit else _sql(node)
        return _name(node)

    def _where(self) -> tuple[str | None, list[str]]:
        where = self.tree.args.get("where")
        if not where:
            return None, []
        parts = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
        lower = next((p for p in parts if isinstance(p, exp.GTE) and _window_bound(p)), None)
        upper = next((p for p in parts if isinstance(p, exp.LT) and _window_bound(p)), None)
        window = self._window(_sql(lower.expression) if lower else None, _sql(upper.expression) if upper else None)
        used = (lower, upper) if window else ()
        return window, [_sql(p) for p in parts if p not in used]

    def _window(self, start: str | None, end: str | None) -> str | None:
        if start == _TODAY and end in (_TOMORROW, None):
            return "за сегодня" if self.ru else "for today"
        if start == _YESTERDAY and end == _TODAY:
            return "за вчера" if self.ru else "for yesterday"
        if start == _MONTH_START and end is None:
            return "за текущий месяц" if self.ru else "for the current month"
        days = _DAYS_BACK.fullmatch(start or "")
        if days and end is None:
            n = int(days.group(1)) + 1
            return f"за последние {n} {_days_ru(n)}" if self.ru else f"for the last {n} days"
        return None

    def _order(self) -> str | None:
        order = self.tree.args.get("order")
        limit = self.tree.args.get("limit")
        n = _sql(limit.expression) if limit else None
        if not order:
            return (f"Не более {n} строк." if self.ru else f"At most {n} rows.") if n else None
        keys = [o.this for o in order.expressions]
        by = ", ".join(_name(k) for k in keys)
        descending = bool(order.expressions[0].args.get("desc"))
        if n and descending:
            return f"Топ-{n} по {by}." if self.ru else f"Top {n} by {by}."
        direction = (" по убыванию" if self.ru else " descending") if descending else ""
        text = f"Сортировка по {by}{direction}" if self.ru else f"Ordered by {by}{direction}"
        if n:
            text += f", первые {n} строк" if self.ru else f", first {n} rows"
        return text + "."


def _window_bound(condition: exp.Expression) -> bool:
    return isinstance(condition.this, exp.Column) and "CURRENT_DATE" in _sql(condition.expression).upper()


def _join(items: list[str], ru: bool) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + (" и " if ru else " and ") + items[-1]


def _days_ru(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "день"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return "дня"
    return "дней"
