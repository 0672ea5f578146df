"""``POST /api/query`` and ``POST /api/sql``: translate a request into ``core.ask`` / ``core.run_sql`` and the
``core.Result`` back into the brief's JSON. The core writes the audit row of every call it handles."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from paysql_magic import core, egress
from paysql_magic.api import refusals, serialize
from paysql_magic.api.auth import Caller
from paysql_magic.api.backend import Backend, BackendDep, CallerDep
from paysql_magic.api.config import MAX_QUESTION_CHARS
from paysql_magic.api.errors import ApiError, from_paysql
from paysql_magic.api.models import ErrorResponse, QueryRequest, QueryResponse, SqlRequest
from paysql_magic.errors import PaysqlError
from paysql_magic.providers import cloud_bound
from paysql_magic.settings import Settings, env_allow_cloud

log = logging.getLogger("paysql.api")
_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 403, 413, 422, 429, 500, 502, 503, 504)}

router = APIRouter(prefix="/api", tags=["queries"], responses=_ERRORS)


@router.post("/query", response_model=QueryResponse)
def query(body: QueryRequest, who: CallerDep, api: BackendDep) -> JSONResponse:
    """Answer a question: generate SQL (or take it from the cache), guard it, run it read-only, audit the call."""
    settings = checked(api, "/api/query", who, body)
    return _answer(api, lambda: core.ask(body.question, api.engine, settings, source="api"))


def checked(api: Backend, path: str, who: Caller, body: QueryRequest, *, asks: bool = True) -> Settings:
    """The call's settings, once the question's length and (when a provider is ``asks``-ed) the cloud consent allow
    it; else the audited refusal."""
    settings = api.settings(who, provider=body.provider, model=body.model, max_rows=body.max_rows, fresh=body.fresh)
    if body.question is not None and len(body.question) > MAX_QUESTION_CHARS:
        detail = f"the question has {len(body.question):,} characters: at most {MAX_QUESTION_CHARS:,}"
        raise refused(api, path, who, body.model_dump(), ApiError(413, "too_large", detail))
    try:
        egress.cloud_consent(asks and cloud_bound(settings.provider), api.engine, env_allow_cloud())
    except PaysqlError as exc:
        raise refused(api, path, who, body.model_dump(), from_paysql(exc)) from None
    return settings


@router.post("/sql", response_model=QueryResponse)
def run_sql(body: SqlRequest, who: CallerDep, api: BackendDep) -> JSONResponse:
    """Run reviewed SQL through the same guard and executor (audited with source ``edited``)."""
    settings = api.settings(who, max_rows=body.max_rows, fresh=body.fresh)
    return _answer(
        api,
        lambda: core.run_sql(body.sql, api.engine, settings, question=body.question, source="edited", remember=False),
    )


def _answer(api: Backend, call: Callable[[], core.Result]) -> JSONResponse:
    try:
        result = call()
    except PaysqlError as exc:
        raise from_paysql(exc) from None
    except Exception:
        log.exception("paysql API call failed")
        raise ApiError(500, "internal_error", "internal error: the server log has the details") from None
    # already JSON-safe: no second validation of every row
    return serialize.JsonResponse(response(result), headers=freshness(api, result))


def freshness(api: Backend, result: core.Result) -> dict[str, str]:
    """``Cache-Control`` and ``Age``: how old the rows are and how long the result cache keeps them (``private``:
    a shared proxy must not keep one caller's rows for another); ``no-store`` when they are not in the cache."""
    ttl = api.results.ttl_s if api.results is not None else 0
    if not result.result_cacheable or ttl <= 0:
        return {"Cache-Control": "no-store"}
    age = int(result.result_age_s or 0)
    return {"Cache-Control": f"private, max-age={max(0, int(ttl) - age)}", "Age": str(age)}


def response(result: core.Result) -> dict:
    """The brief's JSON for a result."""
    return {**summary(result), "data": serialize.rows(result.frame)}


def summary(result: core.Result) -> dict:
    """The brief's JSON for a result but its rows (``data``)."""
    timings = result.timings_ms
    return {
        "question": result.question,
        "sql": result.sql,
        "columns": [str(name) for name in result.frame.columns],
        "row_count": result.row_count,
        "truncated": result.truncated,
        "execution_time_ms": round(timings.get("execute", 0.0), 1),
        "llm_time_ms": round(timings["llm"], 1) if "llm" in timings else None,
        "provider": result.provider,
        "model": result.model,
        "cached": result.cached,
        "call_id": result.call_id,
        "result_cached": result.result_age_s is not None,
    }


def refused(api: Backend, path: str, who: Caller, fields: dict, exc: ApiError) -> ApiError:
    """Audit a call refused before the core saw it, and return the error to raise."""
    status = "error" if exc.status >= 500 else "refused"
    refusals.record(api.store, path, who.name, fields, status, f"{exc.code}: {exc.detail}")
    return exc
