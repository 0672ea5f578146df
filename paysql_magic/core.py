"""The one orchestrator: question -> schema -> prompt -> provider -> guard -> execute -> DataFrame -> audit.

``ask`` answers a question; ``run_sql`` runs SQL an analyst reviewed or edited. Both write exactly one
audit row, whatever happens, and raise ``PaysqlError`` subclasses for every expected failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from time import perf_counter

import pandas as pd
from sqlalchemy import Engine

from paysql_magic import audit, guard
from paysql_magic import execute as executor
from paysql_magic.audit import AuditRecord
from paysql_magic.connection import engine_for
from paysql_magic.errors import EmptyInput, PaysqlError
from paysql_magic.prompt import build_prompt
from paysql_magic.providers import Provider, get_provider
from paysql_magic.schema import introspect
from paysql_magic.settings import Settings, env_audit_url

DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Result:
    """The answer to one call."""

    question: str | None
    sql: str
    frame: pd.DataFrame | None  # None when the SQL was only generated (``execute=False``)
    row_count: int | None
    truncated: bool
    provider: str | None
    model: str | None
    call_id: str
    timings_ms: dict[str, float] = field(default_factory=dict)


class _Call:
    """Collects what one call did, stage by stage, and writes its audit row exactly once."""

    def __init__(self, engine: Engine, settings: Settings, record: AuditRecord) -> None:
        self.engine = engine
        self.settings = settings
        self.record = record
        self.timings_ms: dict[str, float] = {}
        self._start = perf_counter()

    def timed(self, stage: str, fn, *args, **kwargs):
        start = perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.timings_ms[stage] = (perf_counter() - start) * 1000

    def note(self, **fields) -> None:
        self.record = replace(self.record, **fields)

    def finish(self, status: str, error: str | None = None) -> None:
        self.note(status=status, error=error)
        audit_url = self.settings.audit_url or env_audit_url()
        audit_engine = engine_for(audit_url) if audit_url else self.engine
        self.timed("audit", audit.write, audit_engine, self.record)
        self.timings_ms["total"] = (perf_counter() - self._start) * 1000

    def run(self, body) -> Result:
        try:
            result = body(self)
        except PaysqlError as exc:
            self.finish(exc.status, str(exc))
            raise
        except KeyboardInterrupt:
            self.finish("cancelled", "interrupted by the user")
            raise
        except Exception as exc:
            self.finish("error", f"{type(exc).__name__}: {exc}")
            raise
        self.finish("ok")
        return replace(result, timings_ms=self.timings_ms)


def _execute(call: _Call, sql: str, question: str | None, *, run: bool = True) -> Result:
    settings = call.settings
    guarded = call.timed("guard", guard.check, sql, max_rows=settings.max_rows)
    if not run:
        return Result(
            question=question,
            sql=guarded.sql,
            frame=None,
            row_count=None,
            truncated=False,
            provider=call.record.provider,
            model=call.record.model,
            call_id=call.record.call_id,
        )
    call.note(executed_sql=guarded.sql)
    outcome = call.timed(
        "execute",
        executor.run_query,
        call.engine,
        guarded.sql,
        timeout_s=settings.timeout_s,
        max_rows=settings.max_rows,
        exact_decimal=settings.exact_decimal,
        allow_superuser=settings.allow_superuser,
    )
    call.note(row_count=outcome.row_count, execution_time_ms=outcome.execution_time_ms)
    return Result(
        question=question,
        sql=guarded.sql,
        frame=outcome.frame,
        row_count=outcome.row_count,
        truncated=outcome.truncated or (guarded.limit_added and outcome.row_count == settings.max_rows),
        provider=call.record.provider,
        model=call.record.model,
        call_id=call.record.call_id,
    )


def ask(
    question: str,
    engine: Engine,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    provider: Provider | None = None,
    refresh_schema: bool = False,
    source: str = "ask",
    execute: bool = True,
) -> Result:
    """Answer ``question`` on the database behind ``engine`` (``execute=False`` stops after the guard)."""
    question = question.strip()

    def body(call: _Call) -> Result:
        if not question:
            raise EmptyInput("the question is empty: write it under %%ask, e.g. 'Сколько транзакций было сегодня?'")
        chosen = provider or get_provider(settings.provider, settings.model)
        call.note(provider=chosen.name, model=chosen.model)
        schema = call.timed("schema", introspect, engine, refresh=refresh_schema)
        call.note(schema_hash=schema.hash)
        prompt = call.timed("prompt", build_prompt, question, schema)
        reply = call.timed("llm", chosen.generate, prompt)
        call.note(generated_sql=reply, llm_time_ms=call.timings_ms["llm"])
        sql = call.timed("extract", guard.extract_sql, reply)
        return _execute(call, sql, question, run=execute)

    record = AuditRecord(
        source=source,
        status="error",
        question=question,
        user_name=settings.user_name,
        notebook=settings.notebook,
    )
    return _Call(engine, settings, record).run(body)


def run_sql(
    sql: str,
    engine: Engine,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    question: str | None = None,
    source: str = "edited",
) -> Result:
    """Run SQL an analyst reviewed or wrote, through the same guard, executor and audit."""

    def body(call: _Call) -> Result:
        if not sql.strip():
            raise EmptyInput("there is no SQL to run in the cell")
        return _execute(call, sql, question)

    record = AuditRecord(
        source=source,
        status="error",
        question=question,
        generated_sql=sql,
        user_name=settings.user_name,
        notebook=settings.notebook,
    )
    return _Call(engine, settings, record).run(body)
