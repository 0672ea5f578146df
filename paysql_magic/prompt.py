"""The prompt: instructions, today's date and time zone, the business glossary, the relevant schema as compact
DDL, verified examples, the reply format and the question, within a token budget (estimated as chars / 4).
Also the repair prompt, sent back with the failed SQL, the error and the closest real names.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from paysql_magic.egress import current_policy, restrict
from paysql_magic.examples import Example, tokens
from paysql_magic.followup import Previous, thread
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.structured import REPLY_INSTRUCTIONS
from paysql_magic.schema import Column, Schema, Table
from paysql_magic.semantic.glossary import glossary, unit_hint
from paysql_magic.semantic.model import SemanticModel
from paysql_magic.variables import Value, as_parameters, describe

DEFAULT_BUDGET_TOKENS = 6000

INSTRUCTIONS = """\
You write PostgreSQL for payment analysts. Answer with exactly one read-only SELECT statement
(WITH ... SELECT allowed), and nothing that changes data or settings. Use only the tables and columns below.
Relative periods in the question (today, yesterday, last N days, this month ...) become
current_date-relative SQL, never date literals."""

REPLY_FORMAT = f"""\
{REPLY_INSTRUCTIONS} Models without structured output: reply with the query in one ```sql fenced block
instead."""


def estimate_tokens(text: str) -> int:
    """A model-independent token estimate: 4 characters a token."""
    return len(text) // 4


def load_glossary(value: str | None, model: SemanticModel | None = None, statuses: str | None = None) -> str:
    """The glossary: rendered from the semantic model (its status rule, or ``statuses``: all or approved), or the
    given text, or the contents of the file the value names."""
    if not value:
        policy = current_policy()
        return glossary(model, statuses, lambda table, column: policy.permits(table, Column(column, "text", True)))
    path = Path(value).expanduser()
    if "\n" not in value and len(value) < 4096 and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return value.strip()


def _ddl(table: Table, timezone: str) -> str:
    return Schema((table,), timezone).to_ddl()


def _table_terms(table: Table) -> tuple[set[str], set[str]]:
    names = set(tokens(table.name.replace("_", " ")))
    others = {t for c in table.columns for t in tokens(c.name.replace("_", " ") + " " + (c.comment or ""))}
    others |= set(tokens(table.comment or ""))
    return names, others


def select_tables(question: str, schema: Schema, budget_chars: int, model: SemanticModel | None = None) -> list[Table]:
    """The tables most relevant to ``question`` (and their foreign-key neighbours), as many as fit the budget.

    The semantic model's tables come first; then a table scores 10 when the question names it, 3 per word shared
    with its name, 1 per word shared with its columns and comments (words cut to 5 letters); ties go to the most
    referenced tables.
    """
    tables = list(schema.tables)
    if sum(len(_ddl(t, schema.timezone)) + 2 for t in tables) <= budget_chars:
        return tables
    wanted = set(tokens(question.replace("_", " ")))

    lowered = question.lower()

    modelled = {r.table for r in model.relations} if model is not None else set()

    def score(table: Table) -> float:
        names, others = _table_terms(table)
        named = 10 if re.search(rf"\b{re.escape(table.name)}\b", lowered) else 0
        core = 1000 if modelled & {table.name, table.sql_name, table.qualified} else 0
        return core + named + 3 * len(names & wanted) + len(others & wanted)

    referenced = Counter(fk.ref_table for t in tables for fk in t.foreign_keys)
    ranked = sorted((t for t in tables if score(t) > 0), key=lambda t: (-score(t), -referenced[t.name]))
    if not ranked:  # no word in common (e.g. a Russian question, English names): the most referenced tables
        ranked = sorted(tables, key=lambda t: -referenced[t.name])
    by_name = {t.name: t for t in tables}
    chosen: dict[str, Table] = {}
    used = 0
    for table in ranked:
        neighbours = [by_name[fk.ref_table] for fk in table.foreign_keys if fk.ref_table in by_name]
        for candidate in [table, *neighbours]:
            size = len(_ddl(candidate, schema.timezone)) + 2
            if candidate.name not in chosen and used + size <= budget_chars:
                chosen[candidate.name] = candidate
                used += size
    return [t for t in tables if t.name in chosen]


def _examples_text(examples: list[Example]) -> str:
    if not examples:
        return ""
    shots = "\n\n".join(f"Question: {e.question}\n```sql\n{e.sql.strip()}\n```" for e in examples)
    return f"Verified examples:\n{shots}\n\n"


def _previous_text(previous: Previous | None) -> str:
    if previous is None:
        return ""
    asked = "\n".join(f"- {q}" for q in previous.questions)
    return (
        f"The question follows up the previous answer. Earlier questions, first to last:\n{asked}\n"
        f"The SQL that answered them:\n```sql\n{previous.sql.strip()}\n```\n"
        "Apply the change the new question asks for to that query and keep everything else (measures, filters,\n"
        "period, grouping, order, limit) unless the new question changes it.\n\n"
    )


def _params_text(params: Mapping[str, Value]) -> str:
    if not params:
        return ""
    return (
        "Parameters: the question refers to notebook variables as :name. Write :name in the SQL where the value\n"
        "belongs (a list as column = ANY(:name)) and never copy a value into the SQL. Their kinds and values:\n"
        f"{describe(params)}\n\n"
    )


def build_prompt(
    question: str,
    schema: Schema,
    *,
    now: datetime | None = None,
    glossary: str | None = None,
    statuses: str | None = None,
    examples: list[Example] | None = None,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    previous: Previous | None = None,
    params: Mapping[str, Value] | None = None,
    model: SemanticModel | None = None,
) -> Prompt:
    """Everything a provider needs to answer ``question`` against ``schema``, within ``budget_tokens``; a
    follow-up carries the answer it refines, and ``{name}`` references become the parameters ``params``."""
    params = params or {}
    today = (now or datetime.now(ZoneInfo(schema.timezone))).date()
    head = (
        f"{INSTRUCTIONS}\n\n"
        f"Today is {today.isoformat()} in the database time zone {schema.timezone}.\n\n"
        f"Business conventions:\n{load_glossary(glossary, model, statuses)}\n\n"
    )
    tail = (
        f"{_examples_text(examples or [])}{REPLY_FORMAT}\n\n{_previous_text(previous)}{_params_text(params)}"
        f"Question: {as_parameters(question)}\n"
    )
    room = budget_tokens * 4 - len(head) - len(tail) - len("Schema:\n\n\n")
    shown = restrict(schema, model=model)  # sample values only where Ask.sample_values and the model permit them
    topic = " ".join(thread(previous, question))
    ddl = replace(shown, tables=tuple(select_tables(topic, shown, room, model))).to_ddl()
    text = f"{head}Schema:\n{ddl}\n\n{tail}"
    shots = tuple((e.question, e.sql) for e in examples or [])
    return Prompt(
        question=question, schema=schema, text=text, previous=previous, params=params, model=model, examples=shots
    )


# data values PostgreSQL quotes in errors: invalid input syntax for type integer: "<a customer's name>", Key (k)=(v)
_ERROR_VALUES = re.compile(r':\s*"[^"\n]*"|=\([^)\n]*\)')


def without_values(error: str) -> str:
    """A database error without the data values it quotes (they are rows: they never go to a provider)."""
    return _ERROR_VALUES.sub(lambda m: ': "..."' if m[0].startswith(":") else "=(...)", error)


def repair_prompt(prompt: Prompt, sql: str, error: str, names: list[str]) -> Prompt:
    """The original prompt plus the failed SQL, the error (without data values), and the closest real names."""
    hint = (f"\nClosest real names: {', '.join(names)}." if names else "") + unit_hint(prompt.model)
    text = (
        f"{prompt.text}\nYour previous SQL failed.\n```sql\n{sql}\n```\nError: {without_values(error)}{hint}\n"
        "Write a corrected query, in the same reply format.\n"
    )
    return replace(prompt, text=text)
