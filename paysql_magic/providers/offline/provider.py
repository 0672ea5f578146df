"""The offline provider: a small semantic parser that writes SQL for common payment questions, no LLM needed."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal

from paysql_magic.errors import Declined
from paysql_magic.followup import change, thread
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.offline.compose import to_sql
from paysql_magic.providers.offline.intent import Window
from paysql_magic.providers.offline.parser import Parser
from paysql_magic.schema import Schema
from paysql_magic.semantic.model import SemanticModel
from paysql_magic.semantic.values import sampled
from paysql_magic.variables import REFERENCE, Value

HELP = """\
The offline provider understands questions built from:
  measures: number of payments, volume/оборот (the sum of the amount, in tenge), average amount/средний чек,
    largest and smallest payment (together too), median and percentiles, unique customers, merchants or cards,
    share/доля of a status, channel, city or any dimension value (of an explicit whole: «доля ECOM в обороте
    Астаны»), spend or payments per customer (merchant, card), number of merchants or customers (new ones too),
    daily averages, the first and the last payment;
  breakdowns: by any dimension of the semantic model (merchant, category, city, channel, status ...); hourly,
    daily, weekly, monthly series; hour of the day, day of the week;
  comparisons: two periods side by side («сравни оборот сегодня и вчера», "this week vs last week"), growth over
    a series ("week-over-week change for the last 4 weeks", «рост по месяцам»);
  what did not happen: merchants or customers with no payments in a period («мерчанты без транзакций сегодня»);
  time windows: today, yesterday, last N days/weeks/months, last week/month, this week/month/year, a named
    month («в октябре»), a day range («с 1 по 15 ноября»);
  filters: the values of the model's dimensions (statuses by meaning: успешные/отклоненные/отмененные), negated
    («кроме ATM», "not declined"), amounts in tenge («свыше 500 000 тенге», "between 10k and 50k"), groups
    with more than N payments;
  rankings: top N by volume or count («топ 5», "top ten", «самый крупный», "which city has the most ..."); a
    ranking without a number lists every group, in order.
Examples: «Топ 10 мерчантов по объему транзакций за последние 7 дней»; "Share of declined transactions by
channel this month". Its words for this database come from the semantic model (paysql.yaml; paysql init)."""
PROVIDER_HINT = (
    'For other questions use a language model: GEMINI_API_KEY and %config Ask.provider = "gemini", or Ollama '
    '(OLLAMA_HOST) and %config Ask.provider = "ollama"; %ask --help lists what the offline provider understands.'
)
_hinted = threading.Event()  # the provider hint is given once a process (a notebook session, a CLI run)


def decline_message(error: Declined) -> str:
    """At most three lines: what was not understood, a wording that works (if any), the provider hint (once)."""
    lines = [f"The offline provider cannot answer this question: {error}."]
    if error.rephrase:
        lines.append(f"Try: «{error.rephrase}»")
    if not _hinted.is_set():
        _hinted.set()
        lines.append(PROVIDER_HINT)
    return "\n".join(lines)


_parsers: dict[tuple, Parser] = {}
_parsers_lock = threading.Lock()


def parser_for(model: SemanticModel, schema: Schema) -> Parser:
    """One parser per model and sampled values, built on first use (pymorphy3's dictionaries, the vocabulary)."""
    values = sampled(model, schema)
    listed = tuple((name, len(role.values)) for name, role in sorted(model.roles.items()))  # database names read
    key = (model.fingerprint, listed, tuple(sorted((k, tuple(map(str, v))) for k, v in values.items())))
    with _parsers_lock:
        if key not in _parsers:
            _parsers[key] = Parser(model, values)
        return _parsers[key]


class OfflineProvider:
    """Writes SQL from the question alone (``prompt.question``); declines what it cannot parse."""

    name = "offline"
    remote = False
    model = "offline-parser-1"

    def generate(self, prompt: Prompt) -> str:
        """The SQL for the question (a follow-up: the previous questions' intent with the change applied);
        raises Declined, saying what it understands, when it cannot parse it."""
        if prompt.model is None:
            raise Declined(
                "The offline provider needs a semantic model of this database's payments (paysql init drafts one; "
                "it found no payment-like table): use a language model (Ask.provider = 'gemini' or 'ollama')"
            )
        parser = parser_for(prompt.model, prompt.schema)
        first, *changes = thread(prompt.previous, prompt.question)
        today: str | None = None
        try:
            question, today = _with_values(first, prompt.params, today)
            intent = parser.parse(question)
            for refinement in changes:
                question, today = _with_values(change(refinement), prompt.params, today)
                intent = parser.refine(intent, question)
            if today is not None:
                intent = replace(intent, today=today, window=intent.window or Window("today"))
            return to_sql(prompt.model, intent)
        except Declined as error:
            raise Declined(decline_message(error), rephrase=error.rephrase) from None


_AS_OF = re.compile(r"(?:\b(?:по\s+состоянию\s+на|на|за|as\s+of|as\s+at|on|for)\s+)?$", re.IGNORECASE)


def _with_values(question: str, params: Mapping[str, Value], today: str | None) -> tuple[str, str | None]:
    """The question with its notebook variables read: a date becomes the day «today» stands for (the builder
    writes its parameter), other values are written in (the parser only accepts values it knows)."""
    parts: list[str] = []
    last = 0
    for match in REFERENCE.finditer(question):
        parts.append(question[last : match.start()])
        value = params[match[1]]
        if isinstance(value, date):
            if today is not None and today != match[1]:
                raise Declined("it uses two dates, and a period between them needs a language model")
            today = match[1]
            parts[-1] = _AS_OF.sub("", parts[-1])
        else:
            parts.append(
                ", ".join(_text(match[1], v) for v in value) if isinstance(value, tuple) else _text(match[1], value)
            )
        last = match.end()
    parts.append(question[last:])
    return " ".join("".join(parts).split()), today


def _text(name: str, value: object) -> str:
    """A value as a word of the question; a string must read as a name (a city, a currency, a category)."""
    if isinstance(value, float | Decimal) and value == int(value):
        return str(int(value))
    if isinstance(value, str) and not _NAME.fullmatch(value):
        raise Declined(f"{{{name}}} holds {value!r}, which is not a value it knows (a city, currency, category ...)")
    return str(value)


_NAME = re.compile(r"[\w .&-]+")
