"""``GET /api/health`` (is the database reachable, can the role read a table there, is the provider) and
``GET /api/stats`` (the brief's monitoring queries over ``query_audit_log``, the same figures as ``%ask_audit``).

Health is 200 ``ok`` when all three hold; 503 ``unavailable`` when the database or the provider cannot be reached;
503 ``degraded`` when the database answers but introspection fails (a role that can read no table: no question can
be answered), with the one-line reason under ``schema``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from paysql_magic import monitor
from paysql_magic.api import queue, serialize
from paysql_magic.api.auth import Caller
from paysql_magic.api.backend import Backend, BackendDep, CallerDep
from paysql_magic.api.errors import from_paysql
from paysql_magic.api.models import Check, HealthResponse
from paysql_magic.connection import connect, first_line
from paysql_magic.errors import PaysqlError
from paysql_magic.providers import choose_provider
from paysql_magic.schema import introspect
from paysql_magic.settings import env_gemini_key, env_ollama_host

router = APIRouter(prefix="/api", tags=["monitoring"])

_FIGURES = {
    monitor.TOP_QUESTIONS: "most_frequent_questions",
    monitor.EXECUTION_TIME: "average_execution_time",
    monitor.SUCCESS_RATE: "success_rate",
    monitor.CALLS_PER_DAY: "calls_per_day",
    monitor.UNFINISHED: "unfinished_calls",
}
_SINGLE_ROW = {"average_execution_time", "success_rate"}


class Health(HealthResponse):
    """What /api/health reports: the database, its tables as this role sees them, the provider, the auth mode."""

    status: str = Field(
        description="ok; unavailable when the database or the provider is not reachable; degraded when the "
        "database answers but its tables cannot be introspected (a role that can read no table)."
    )
    schema_: Check = Field(
        alias="schema",
        description="Introspection: how many tables the role can read, or the one-line reason it can read none.",
    )
    cache: Check = Field(
        description="The result cache: redis (shared), in process, or off; Redis unreachable is ok: false with the "
        "reason, and the API answers live (status stays ok: the cache is not needed to answer)."
    )
    jobs: Check = Field(
        description="POST /api/jobs: the queue's waiting jobs and its workers; ok: false when Redis is unreachable "
        "or no `paysql worker` runs (status stays ok: /api/query does not need them)."
    )


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(who: CallerDep, api: BackendDep) -> JSONResponse:
    """200 when the database, its tables and the provider are usable, else 503 with what is not."""
    database, provider = _database(api), _provider(api)
    schema = _schema(api, who) if database.ok else Check(ok=False, detail="not checked: the database is unreachable")
    reachable = database.ok and provider.ok
    status = ("ok" if schema.ok else "degraded") if reachable else "unavailable"
    body = Health(
        status=status,
        database=database,
        schema=schema,
        provider=provider,
        cache=_cache(api),
        jobs=_jobs(api),
        auth="open" if who.kind == "open" else "required",
    )
    return JSONResponse(body.model_dump(by_alias=True), status_code=200 if status == "ok" else 503)


@router.get("/stats")
def stats(who: CallerDep, api: BackendDep) -> dict:
    """The caller's most frequent questions and unfinished calls; average execution time, success rate and calls
    per day (last 30 days) over every call."""
    try:
        figures = monitor.figures(api.store, who.name)
    except PaysqlError as exc:
        raise from_paysql(exc) from None
    out: dict = {}
    for title, frame in figures.items():
        key = _FIGURES[title]
        rows = serialize.rows(frame)
        out[key] = (rows[0] if rows else {}) if key in _SINGLE_ROW else rows
    return out


def _database(api: Backend) -> Check:
    try:
        with connect(api.engine) as conn:
            conn.execute(text("SELECT 1"))
    except PaysqlError as exc:
        return Check(ok=False, detail=str(exc))
    except SQLAlchemyError as exc:
        return Check(ok=False, detail=first_line(exc))
    return Check(ok=True, detail=f"connected to {api.engine.url.database}")


def _schema(api: Backend, who: Caller) -> Check:
    """What questions are asked over: the tables the role can read, as the query routes introspect them."""
    try:
        schema = introspect(api.engine, schemas=api.settings(who).schemas)
    except PaysqlError as exc:  # SchemaError: "no table this role can read in ...", or the catalog is unreadable
        return Check(ok=False, detail=first_line(exc))
    except SQLAlchemyError as exc:
        return Check(ok=False, detail=first_line(exc))
    count = len(schema.tables)
    where = ", ".join(schema.schemas)
    return Check(ok=True, detail=f"{count} table{'' if count == 1 else 's'} readable in {where or 'the database'}")


def _cache(api: Backend) -> Check:
    if api.results is None:
        return Check(ok=True, detail="off (--result-ttl 0): every call runs live")
    ok, detail = api.results.status()
    return Check(ok=ok, detail=detail)


def _jobs(api: Backend) -> Check:
    if api.jobs is None:
        return Check(ok=True, detail="off (no PAYSQL_REDIS_URL): POST /api/jobs answers 503")
    try:
        waiting, workers = queue.load(api.jobs)
    except Exception as exc:
        return Check(ok=False, detail=f"redis unreachable ({first_line(exc)}): POST /api/jobs answers 503")
    line = f"{waiting} waiting in {queue.QUEUE_NAME}, {workers} worker{'' if workers == 1 else 's'}"
    return Check(ok=workers > 0, detail=line if workers else f"{line}: jobs wait until `paysql worker` runs")


def _provider(api: Backend) -> Check:
    try:
        chosen, choice = choose_provider(api.config.provider, api.config.model)
    except PaysqlError as exc:
        return Check(ok=False, detail=str(exc))
    if chosen.name == "gemini" and not env_gemini_key():
        return Check(ok=False, detail="gemini: no GEMINI_API_KEY or GOOGLE_API_KEY")
    if chosen.name == "ollama":
        from paysql_magic.providers.ollama import ollama_answers

        if not ollama_answers(env_ollama_host()):
            return Check(ok=False, detail=f"ollama: no server answers at {env_ollama_host()}")
    return Check(ok=True, detail=f"{choice}, model {chosen.model}")
