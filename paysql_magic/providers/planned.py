"""Plan mode: the language model fills a plan whose JSON Schema names only what this database has; the plan is
checked, compiled by the offline provider's compiler, and the SQL goes on to the guard like any other.

``mode`` is ``plan`` (a plan or a decline) or ``auto`` (a plan, else SQL where the model says a plan cannot
reach). A plan naming an unknown value goes back to the model with the nearest known values, at most
``max_repairs`` times.
"""

from __future__ import annotations

import json

import sqlglot
import sqlglot.errors

from paysql_magic.errors import Declined
from paysql_magic.plans.compile import Known, NeedsSql, PlanError, describe, from_intent, read_plan, to_intent
from paysql_magic.plans.schema import PLAN_INSTRUCTIONS, plan_schema
from paysql_magic.providers.base import Prompt, Provider
from paysql_magic.providers.offline.compose import to_sql
from paysql_magic.semantic.glossary import glossary
from paysql_magic.semantic.values import sampled


class PlannedProvider:
    """Wraps an LLM provider (one with ``fill(system, text, schema)``) in plan mode."""

    def __init__(self, llm: Provider, mode: str, known: Known, max_repairs: int = 2) -> None:
        self.llm, self.mode, self.known, self.max_repairs = llm, mode, known, max_repairs
        self.name, self.model, self.remote = llm.name, llm.model, llm.remote
        self.used: str | None = None  # "plan" or "sql": how the last answer was made
        self.plan_line: str | None = None  # the plan in one line, for the cell
        self.sql_reason: str | None = None  # why the model wrote SQL instead (auto mode)

    def generate(self, prompt: Prompt) -> str:
        """The SQL compiled from the model's plan (or, in auto mode, the SQL it writes where no plan reaches)."""
        model = prompt.model
        schema = plan_schema(model, sampled(model, prompt.schema))
        text = _plan_text(prompt)
        for attempt in range(1 + max(0, self.max_repairs)):
            reply = self.llm.fill(PLAN_INSTRUCTIONS, text, schema)
            try:
                intent = to_intent(read_plan(reply), model, schema, self.known)
            except NeedsSql as exc:
                if self.mode != "auto":
                    raise Declined(f"{exc}; ask in SQL mode (--mode sql)") from None
                self.used, self.plan_line, self.sql_reason = "sql", None, str(exc)
                return self.llm.generate(prompt)
            except PlanError as exc:
                if attempt == self.max_repairs:
                    raise
                text = f"{text}\n\nYour previous plan was refused: {exc}.\nIt was:\n{reply}\nWrite a corrected plan."
                continue
            self.used, self.plan_line = "plan", describe(intent)
            return to_sql(model, intent)
        raise Declined("no plan")  # unreachable: the loop returns or raises


def _recovered(prompt: Prompt) -> list[str]:
    """Verified examples as plans, where the plan can be recovered: the offline parser's reading of the example's
    question compiles to the example's SQL (compared as sqlglot trees)."""
    from paysql_magic.providers.offline.provider import parser_for

    shown = []
    for question, sql in prompt.examples:
        try:
            intent = parser_for(prompt.model, prompt.schema).parse(question)
            same = sqlglot.parse_one(to_sql(prompt.model, intent), read="postgres") == sqlglot.parse_one(
                sql, read="postgres"
            )
        except (Declined, sqlglot.errors.SqlglotError):
            continue
        if same:
            shown.append(f"Question: {question}\nPlan: {json.dumps(from_intent(intent), ensure_ascii=False)}")
    return shown


def _plan_text(prompt: Prompt) -> str:
    """What the model reads in plan mode: the conventions of this database, verified examples as plans, the
    earlier questions of a follow-up, and the question (the plan's JSON Schema carries the names)."""
    examples = _recovered(prompt)
    shots = "Verified examples:\n" + "\n\n".join(examples) + "\n\n" if examples else ""
    earlier = ""
    if prompt.previous is not None:
        earlier = (
            "The question refines the previous ones: "
            + json.dumps(list(prompt.previous.questions), ensure_ascii=False)
            + "\n"
        )
    return f"Business conventions:\n{glossary(prompt.model)}\n\n{shots}{earlier}Question: {prompt.question}\n"
