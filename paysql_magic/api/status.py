"""``GET /api/health`` (is the database reachable, is the provider) and ``GET /api/stats`` (the brief's monitoring
queries over ``query_audit_log``, the same figures as ``%ask_audit``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from paysql_magic import monitor
from paysql_magic.api import serialize
from paysql_magic.api.backend import Backend, BackendDep, CallerDep
from paysql_magic.api.errors import from_paysql
from paysql_magic.api.models import Check, HealthResponse
from paysql_magic.connection import connect, first_line
from paysql_magic.errors import PaysqlError
from paysql_magic.providers import choose_provider
from paysql_magic.settings import env_gemini_key, env_ollama_host

router = APIRouter(prefix="/api", tags=["monitoring"])

_FIGURES = {
    monitor.TOP_QUESTIONS: "most_frequent_questions",
    monitor.EXECUTION_TIME: "average_execution_time",
    monitor.SUCCESS_RATE: "success_rate",
    monitor.CALLS_PER_DAY: "calls_per_day",
}
_SINGLE_ROW = {"average_execution_time", "success_rate"}


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
def health(who: CallerDep, api: BackendDep) -> JSONResponse:
    """200 when the database and the provider are reachable, else 503 with what is not."""
    database, provider = _database(api), _provider(api)
    ok = database.ok and provider.ok
    body = HealthResponse(
        status="ok" if ok else "unavailable",
        database=database,
        provider=provider,
        auth="open" if who.kind == "open" else "required",
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/stats")
def stats(api: BackendDep) -> dict:
    """Most frequent questions, average execution time, success rate and calls per day (last 30 days)."""
    try:
        figures = monitor.figures(api.store)
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
