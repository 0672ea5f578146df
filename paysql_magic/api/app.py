"""The FastAPI application: routes (``queries``, ``status``, ``pages``) behind the middleware (``gate``).

Layers, outermost first: security headers on every response, CORS (only when origins are configured), the gate
(auth, rate limit, body size), then FastAPI. Every error leaves as ``{"error": CODE, "detail": "..."}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from paysql_magic.api import jobs, pages, queries, refusals, serialize, status
from paysql_magic.api.backend import Backend
from paysql_magic.api.config import ServeConfig, env_serve_config
from paysql_magic.api.errors import ApiError, error_response
from paysql_magic.api.gate import Gate, SecurityHeaders
from paysql_magic.api.ratelimit import RateLimit

DESCRIPTION = """Ask the payments database questions in Russian or English: `POST /api/query` with
`{"question": "..."}` returns the SQL and the rows. The same core as the notebook magic: schema, prompt, provider,
guard, read-only execution, audit. Send an API key in `X-API-Key` (or `Authorization: Bearer`) unless the server
runs open (loopback, no keys)."""

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def create_app(config: ServeConfig) -> FastAPI:
    """The API for ``config`` (tests call this with a config; ``paysql serve`` workers use ``app_from_env``)."""
    backend = Backend.connect(config)
    app = FastAPI(
        title="paysql-magic",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        default_response_class=serialize.JsonResponse,
    )
    app.state.backend = backend
    # Documented schemes (the "Authorize" button in /docs); the gate does the checking.
    security = [APIKeyHeader(name="X-API-Key", auto_error=False), HTTPBearer(auto_error=False)]
    for router in (queries.router, jobs.router, status.router):
        app.include_router(router, dependencies=[Security(scheme) for scheme in security])
    pages.mount(app)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    limit = RateLimit(config.rate_limit, config.redis_url)
    app.state.limit = limit
    app.add_middleware(Gate, config=config, store=backend.store, limit=limit)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization"],
        )
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """The factory ``paysql serve`` gives uvicorn: each worker builds its app from ``PAYSQL_SERVE_CONFIG``."""
    return create_app(env_serve_config())


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422 for a body it cannot take becomes 400 ``bad_request`` (and an audit row)."""
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    part = "request body" if all(e["loc"][:1] == ("body",) for e in exc.errors()) else "request"
    detail = f"the {part} is not what {request.url.path} takes: {problems}"
    caller = getattr(request.state, "caller", None)
    fields = exc.body if isinstance(exc.body, dict) else {}
    user = caller.name if caller else None
    await run_in_threadpool(
        refusals.record, request.app.state.backend.store, request.url.path, user, fields, "error", detail
    )
    return error_response(400, "bad_request", detail)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (an unknown path, a wrong method, a body it cannot parse); on an audited endpoint
    the refused call gets its row (at most at the rate limit per caller)."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code == 400 else "http_error")
    path = request.url.path
    if path in refusals.AUDITED:
        caller = getattr(request.state, "caller", None)
        client = (request.client.host, request.client.port) if request.client else None
        if await run_in_threadpool(refusals.may_audit, request.app.state.limit, client, caller):
            error = f"{code}: {exc.detail}"
            store = request.app.state.backend.store
            user = caller.name if caller else None
            await run_in_threadpool(refusals.record, store, path, user, {}, "refused", error)
    return error_response(exc.status_code, code, str(exc.detail))
