"""The one orchestrator: question -> schema -> prompt -> provider -> guard -> execute -> DataFrame -> audit.

``ask`` answers a question; ``run_sql`` runs SQL an analyst reviewed or edited. Both write exactly one
audit row, whatever happens, and raise ``PaysqlError`` subclasses for every expected failure.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from time import perf_counter, time

import pandas as pd
from sqlalchemy import Engine

from paysql_magic import audit, cache, examples, guard, validate, variables
from paysql_magic import execute as executor
from paysql_magic import results as _results
from paysql_magic import routing as _routing
from paysql_magic.audit import AuditRecord
from paysql_magic.connection import engine_for, first_line
from paysql_magic.errors import EmptyInput, ExecutionError, PaysqlError, QueryTimeout, SqlRefused
from paysql_magic.followup import Previous, is_refinement, thread
from paysql_magic.prompt import DEFAULT_BUDGET_TOKENS, build_prompt, repair_prompt
from paysql_magic.providers import Prompt, Provider, choose_provider
from paysql_magic.providers.structured import sql_of_reply
from paysql_magic.schema import Schema, introspect
from paysql_magic.semantic.model import SemanticModel
from paysql_magic.semantic.source import model_for
from paysql_magic.settings import Settings, env_audit_url, env_mode

DEFAULT_SETTINGS = Settings()
Progress = Callable[[str], AbstractContextManager[object]]
OFFLINE = "offline"  # the provider name that gets no repair round


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
    cached: bool = False  # the SQL came from the query cache: no provider call
    provider_choice: str | None = None  # why ``auto`` picked this provider, e.g. "auto -> offline (no key, ...)"
    model_note: str | None = None  # the semantic model was drafted in memory: say so (the shells show it once)
    semantic_model: SemanticModel | None = field(default=None, repr=False, compare=False)  # what the answer used
    mode: str | None = None  # "plan" (an intent compiled over the model) or "sql" (SQL the model wrote)
    plan: str | None = None  # the plan in one line: "total_volume | by city | last 7 days"
    sql_reason: str | None = None  # auto mode answered with SQL: the model's reason a plan could not reach
    result_age_s: float | None = None  # the rows came from the result cache, stored this many seconds ago
    result_cacheable: bool = False  # the rows are (now) in the result cache: the API states how fresh they are


class _Call:
    """Collects what one call did, stage by stage, and writes its audit row exactly once."""

    def __init__(
        self, engine: Engine, settings: Settings, record: AuditRecord, progress: Progress | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.record = record
        self.progress = progress
        self.choice: str | None = None
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
        """Write the audit row; a success after repairs keeps the last repaired error."""
        self.note(status=status, error=error or self.record.error)
        audit_engine = store_engine(self.engine, self.settings)
        self.timed("audit", audit.write, audit_engine, self.record)
        self.timings_ms["total"] = (perf_counter() - self._start) * 1000

    def run(self, body) -> Result:
        # the call's start, so a call that never finishes (process killed, machine lost) is visible
        self.timed("audit_start", audit.start, store_engine(self.engine, self.settings), self.record)
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
        return replace(result, timings_ms=self.timings_ms, provider_choice=self.choice)


def _execute(call: _Call, sql: str, question: str | None, *, run: bool = True) -> Result:
    """Guard ``sql``, then run it (or, with ``run=False``, only return the guarded SQL)."""
    guarded = call.timed("guard", guard.check, sql, max_rows=call.settings.max_rows)
    return _run(call, guarded, question, run=run)


def _run(call: _Call, guarded: guard.GuardedSql, question: str | None, *, run: bool) -> Result:
    settings = call.settings
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
    results = settings.results
    key = call.timed("result_key", _result_key, results, call.engine, guarded.sql, settings) if results else None
    if key is not None and not settings.fresh_results:
        entry = call.timed("result_get", results.get, key)
        if entry is not None:
            call.note(row_count=entry.row_count, execution_time_ms=0.0, result_cached=True)
            return _result(call, guarded, question, entry.frame, entry.row_count, entry.truncated, entry.age_s())
    engine = call.engine
    if settings.scan_engine is not None:
        planned = call.timed(
            "route",
            _routing.cost,
            engine,
            guarded.sql,
            timeout_s=settings.timeout_s,
            allow_superuser=settings.allow_superuser,
        )
        engine = settings.scan_engine if planned >= settings.scan_cost else engine
    outcome = call.timed(
        "execute",
        executor.run_query,
        engine,
        guarded.sql,
        timeout_s=settings.timeout_s,
        max_rows=settings.max_rows,
        exact_decimal=settings.exact_decimal,
        allow_superuser=settings.allow_superuser,
        max_bytes=settings.max_bytes,
    )
    call.note(row_count=outcome.row_count, execution_time_ms=outcome.execution_time_ms)
    truncated = outcome.truncated or (guarded.limit_added and outcome.row_count == settings.max_rows)
    stored = False
    if key is not None:
        entry = _results.Entry(outcome.frame, outcome.row_count, truncated, outcome.execution_time_ms, time())
        stored = call.timed("result_put", results.put, key, entry)
    result = _result(call, guarded, question, outcome.frame, outcome.row_count, truncated, None)
    return replace(result, result_cacheable=stored)


def _result(
    call: _Call, guarded: guard.GuardedSql, question: str | None, frame, row_count, truncated, age_s: float | None
) -> Result:
    return Result(
        question=question,
        sql=guarded.sql,
        frame=frame,
        row_count=row_count,
        truncated=truncated,
        provider=call.record.provider,
        model=call.record.model,
        call_id=call.record.call_id,
        result_age_s=age_s,
        result_cacheable=age_s is not None,
    )


def _result_key(results, engine: Engine, sql: str, settings: Settings) -> str | None:
    """The result cache's key, or None (the cache is skipped) when the database's identity cannot be read."""
    try:
        return results.key(
            engine,
            sql,
            max_rows=settings.max_rows,
            max_bytes=settings.max_bytes,
            flags=(settings.exact_decimal, settings.allow_superuser),
        )
    except Exception as exc:
        warnings.warn(f"paysql: result cache skipped: {first_line(exc)}", stacklevel=2)
        return None


@dataclass(frozen=True)
class Generation:
    """How SQL is generated for a question: prompt contents, cache, repairs and self-consistency."""

    glossary: str | None = None  # text, or the path of a file holding it; None = the payment conventions
    statuses: str | None = None  # all | approved: overrides the semantic model's rule (which statuses turnover counts)
    examples_k: int = 3
    budget_tokens: int = DEFAULT_BUDGET_TOKENS
    max_repairs: int = 2  # LLM providers only: the offline provider is deterministic and gets one attempt
    samples: int = 1  # > 1: self-consistency, the candidate whose result is most common wins
    fresh: bool = False  # ignore (and replace) the cached SQL
    mode: str | None = None  # LLMs: plan (a plan over the semantic model), sql, auto (a plan, else SQL); None: env


DEFAULT_GENERATION = Generation()


def ask(
    question: str,
    engine: Engine,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    provider: Provider | None = None,
    refresh_schema: bool = False,
    source: str = "ask",
    execute: bool = True,
    generation: Generation = DEFAULT_GENERATION,
    progress: Progress | None = None,
    params: Mapping[str, object] | None = None,
    previous: Previous | None = None,
) -> Result:
    """Answer ``question`` on the database behind ``engine`` (``execute=False`` stops after validation).

    ``{name}`` in the question refers to ``params[name]`` (a notebook variable): the SQL gets it only as a
    literal built from the typed value (see ``variables``). ``previous`` makes the question a follow-up of
    that answer: the provider refines it, and the audit row links to it.

    ``progress(label)`` is a context manager shown around calls to a remote provider (the magic passes
    ``waiting.waiting``: a line that counts the seconds).

    A cached answer (same question, schema, provider and model) makes no provider call; evaluation runs
    (``source="eval"``) never use the cache.
    """
    question = question.strip()

    def body(call: _Call) -> Result:
        if not question:
            raise EmptyInput("the question is empty: write it under %%ask, e.g. 'Сколько транзакций было сегодня?'")
        values = variables.resolve(" ".join(thread(previous, question)), params or {})
        chosen, choice = (provider, None) if provider else choose_provider(settings.provider, settings.model)
        call.choice = choice
        call.note(provider=chosen.name, model=chosen.model)
        schema = call.timed("schema", introspect, engine, schemas=settings.schemas, refresh=refresh_schema)
        call.note(schema_hash=schema.hash)
        model, note = call.timed("model", model_for, engine, schema, settings.semantic_model)
        model = _with_statuses(model, generation.statuses)
        chosen = _in_mode(chosen, generation, engine, schema, model)
        store = store_engine(engine, settings) if source != "eval" else None
        planned = f"{chosen.model}:{chosen.mode}" if hasattr(chosen, "mode") else chosen.model  # plan mode caches apart
        call.note(mode="plan" if hasattr(chosen, "mode") or chosen.name == OFFLINE else "sql")
        key = (_cache_text(question, values, previous), fingerprint(schema, model), chosen.name, planned)
        cached = _quietly(cache.lookup, store, *key) if store is not None and not generation.fresh else None
        if cached is not None:
            call.note(cached=True, attempts=0, generated_sql=cached)
            result = _execute(call, variables.bind(cached, values), question, run=execute)
            return replace(result, cached=True, model_note=note, semantic_model=model)
        prompt = call.timed("prompt", _prompt, question, schema, store, generation, previous, values, model)
        if generation.samples > 1:
            sql, result = _vote(call, chosen, prompt, question, generation.samples, run=execute)
        else:
            sql, result = _generate(call, chosen, prompt, question, generation.max_repairs, run=execute)
        if store is not None:
            _quietly(cache.store, store, *key, sql)
        used = getattr(chosen, "used", None) or ("plan" if chosen.name == OFFLINE else "sql")
        plan, reason = getattr(chosen, "plan_line", None), getattr(chosen, "sql_reason", None)
        call.note(mode=used)
        return replace(result, model_note=note, semantic_model=model, mode=used, plan=plan, sql_reason=reason)

    record = AuditRecord(
        source=source,
        status="error",
        question=question,
        user_name=settings.user_name,
        notebook=settings.notebook,
        parent_call_id=previous.call_id if previous else None,
    )
    return _Call(engine, settings, record, progress).run(body)


def _in_mode(
    chosen: Provider, generation: Generation, engine: Engine, schema: Schema, model: SemanticModel | None
) -> Provider:
    """An LLM in plan or auto mode fills a plan over the semantic model (``providers/planned.py``)."""
    mode = generation.mode or env_mode()
    if mode == "sql" or model is None or not hasattr(chosen, "fill"):
        return chosen
    from paysql_magic.providers.planned import PlannedProvider
    from paysql_magic.semantic.values import known_values

    return PlannedProvider(chosen, mode, known_values(engine, model, schema), generation.max_repairs)


def _model_quietly(engine: Engine, settings: Settings) -> SemanticModel | None:
    """The semantic model for labels and explanations of reviewed SQL; None when it cannot be had."""
    try:
        return model_for(engine, introspect(engine, schemas=settings.schemas), settings.semantic_model)[0]
    except PaysqlError:
        return None


def _with_statuses(model: SemanticModel | None, statuses: str | None) -> SemanticModel | None:
    """The model with ``Ask.statuses`` (all | approved) as its turnover rule, when set."""
    if model is None or statuses is None:
        return model
    counted = () if statuses == "all" else ("approved",)
    return replace(model, turnover_statuses=counted, document={**model.document, "turnover": list(counted)})


def fingerprint(schema: Schema, model: SemanticModel | None) -> str:
    """What a cached answer depends on besides the question: the schema and the semantic model."""
    return f"{schema.hash}:{model.fingerprint}" if model is not None else schema.hash


def _cache_text(question: str, values: Mapping[str, variables.Value], previous: Previous | None) -> str:
    """What the cache knows a question by: a follow-up by its thread, ``{name}`` by the values it had."""
    asked = "\n".join(thread(previous, question))
    return f"{asked}\n{variables.fingerprint(values)}" if values else asked


def prompt_for(
    question: str,
    engine: Engine,
    settings: Settings = DEFAULT_SETTINGS,
    generation: Generation = DEFAULT_GENERATION,
    *,
    params: Mapping[str, object] | None = None,
    previous: Previous | None = None,
) -> Prompt:
    """Exactly the prompt ``ask`` would send for ``question`` (nothing is sent, nothing audited)."""
    question = question.strip()
    values = variables.resolve(" ".join(thread(previous, question)), params or {})
    schema = introspect(engine, schemas=settings.schemas)
    model = _with_statuses(model_for(engine, schema, settings.semantic_model)[0], generation.statuses)
    return _prompt(question, schema, store_engine(engine, settings), generation, previous, values, model)


def verify(result: Result, engine: Engine, settings: Settings = DEFAULT_SETTINGS) -> None:
    """Vouch for ``result``: its question and SQL become a verified example for future prompts."""
    if not result.question:
        raise EmptyInput("only the answer to a question can be verified: this result has no question")
    examples.add(store_engine(engine, settings), result.question, result.sql, "verify")


def store_engine(engine: Engine, settings: Settings) -> Engine:
    """Where the audit log, the query cache and the verified examples live."""
    audit_url = settings.audit_url or env_audit_url()
    return engine_for(audit_url) if audit_url else engine


def _quietly(fn, *args):
    """Cache and examples are a convenience: their failure is a warning, never a failed cell (a role without the
    privilege to create or write them: one line naming the fix, once per process and store database)."""
    from paysql_magic import privileges

    try:
        return fn(*args)
    except Exception as exc:
        if not privileges.warn_once(args[0] if args else None, exc, stacklevel=3):
            warnings.warn(f"paysql: {fn.__module__.rsplit('.', 1)[-1]} unavailable: {first_line(exc)}", stacklevel=3)
        return None


def _prompt(
    question: str,
    schema: Schema,
    store: Engine | None,
    generation: Generation,
    previous: Previous | None = None,
    params: Mapping[str, variables.Value] | None = None,
    model: SemanticModel | None = None,
) -> Prompt:
    shots = examples.retrieve(question, _quietly(examples.load, store) or [], generation.examples_k) if store else []
    return build_prompt(
        question,
        schema,
        glossary=generation.glossary,
        statuses=generation.statuses,
        examples=shots,
        budget_tokens=generation.budget_tokens,
        previous=previous,
        params=params,
        model=model,
    )


def _candidate(call: _Call, provider: Provider, prompt: Prompt, question: str, *, run: bool) -> tuple[str, Result]:
    """One provider call, checked (guard, names, dates, EXPLAIN) and run; raises on any failure."""
    call.note(attempts=call.record.attempts + 1)
    if provider.remote and call.progress is not None:
        with call.progress(f"asking {provider.name}/{provider.model}"):
            reply = call.timed("llm", provider.generate, prompt)
    else:
        reply = call.timed("llm", provider.generate, prompt)
    call.note(generated_sql=reply, llm_time_ms=(call.record.llm_time_ms or 0) + call.timings_ms["llm"])
    sql = call.timed("extract", sql_of_reply, reply)
    guarded = call.timed("guard", guard.check, variables.bind(sql, prompt.params), max_rows=call.settings.max_rows)
    call.timed("validate", _validate, call, guarded.sql, prompt.schema, question, sql)
    return sql, _run(call, guarded, question, run=run)


def _validate(call: _Call, sql: str, schema: Schema, question: str, written: str) -> None:
    """Names and plan of the SQL to run; relative periods in what the provider wrote (before the notebook's
    values were bound: a date variable is a literal by design)."""
    validate.check_names(sql, schema)
    validate.check_dates(question, written)
    validate.explain(call.engine, sql, timeout_s=call.settings.timeout_s, allow_superuser=call.settings.allow_superuser)


def _generate(
    call: _Call, provider: Provider, prompt: Prompt, question: str, max_repairs: int, *, run: bool
) -> tuple[str, Result]:
    """Generate, and on a repairable failure send the error back, at most ``max_repairs`` times."""
    call.note(attempts=0)
    allowed = 1 if provider.name == OFFLINE else 1 + max(0, max_repairs)
    current = prompt
    while True:
        try:
            return _candidate(call, provider, current, question, run=run)
        except (SqlRefused, ExecutionError) as exc:
            if isinstance(exc, QueryTimeout):
                raise
            if call.record.attempts >= allowed:
                raise _gave_up(exc, call.record.attempts) from None
            call.note(error=str(exc))
            failed = call.record.generated_sql or ""
            current = repair_prompt(prompt, failed, str(exc), validate.hint(str(exc), prompt.schema))


def _gave_up(exc: PaysqlError, attempts: int) -> PaysqlError:
    """The last error, saying how many attempts were made (same class, so the audit status is kept)."""
    if attempts == 1:
        return exc
    if isinstance(exc, SqlRefused):
        return SqlRefused(f"{exc.reason} (gave up after {attempts} attempts)")
    return type(exc)(f"{exc} (gave up after {attempts} attempts)")


def _vote(
    call: _Call, provider: Provider, prompt: Prompt, question: str, samples: int, *, run: bool
) -> tuple[str, Result]:
    """Self-consistency: ``samples`` candidates, each run read-only; the most common result wins."""
    call.note(attempts=0)
    answers: list[tuple[str, str, Result]] = []
    last_error: PaysqlError | None = None
    for _ in range(samples):
        try:
            sql, result = _candidate(call, provider, prompt, question, run=True)
        except (SqlRefused, ExecutionError) as exc:
            last_error = exc
            continue
        answers.append((_fingerprint(result), sql, result))
    if not answers:
        raise _gave_up(last_error, call.record.attempts)
    votes = Counter(fingerprint for fingerprint, _, _ in answers)
    winner = max(votes, key=lambda fp: (votes[fp], -next(i for i, a in enumerate(answers) if a[0] == fp)))
    _, sql, result = next(a for a in answers if a[0] == winner)
    call.note(generated_sql=sql, executed_sql=result.sql, row_count=result.row_count)
    return sql, result if run else replace(result, frame=None, row_count=None)


def _fingerprint(result: Result) -> str:
    """A result's values, independent of column names."""
    frame = result.frame
    return "" if frame is None else frame.set_axis(range(frame.shape[1]), axis=1).to_json(orient="values")


def run_sql(
    sql: str,
    engine: Engine,
    settings: Settings = DEFAULT_SETTINGS,
    *,
    question: str | None = None,
    source: str = "edited",
    params: Mapping[str, object] | None = None,
    remember: bool = True,
) -> Result:
    """Run SQL an analyst reviewed or wrote, through the same guard, executor and audit; ``:name`` in it
    takes the value ``params[name]`` as a literal (see ``variables``; other entries of ``params`` are not read).

    SQL run from the reviewed cell (``source="edited"``) with its question becomes a verified example, unless
    ``remember`` is False (the HTTP API: a caller's SQL must not reach other users' prompts).
    """

    def body(call: _Call) -> Result:
        if not sql.strip():
            raise EmptyInput("there is no SQL to run in the cell")
        values = variables.resolve(sql, params or {}, variables.parameters)
        result = _execute(call, variables.bind(sql, values), question)
        result = replace(result, semantic_model=_model_quietly(engine, settings))  # for charts and explanations
        if remember and source == "edited" and question and not is_refinement(question):  # not a bare follow-up
            _quietly(examples.add, store_engine(engine, settings), question, sql, "edited")
        return result

    record = AuditRecord(
        source=source,
        status="error",
        question=question,
        generated_sql=sql,
        user_name=settings.user_name,
        notebook=settings.notebook,
    )
    return _Call(engine, settings, record).run(body)
