"""HTTP errors: every failure is ``{"error": CODE, "detail": "..."}`` with one status per code.

400 bad_request            the body is not what the endpoint takes (FastAPI's own 422 included), empty question
401 unauthorized           no credential where one is needed, an unknown key, a bad or expired token
403 forbidden              a revoked key
404 not_found              also a job that does not exist, has expired or is another caller's
405 method_not_allowed
413 too_large              a body over 10 kB, a question over 2,000 characters
422 refused                the guard refused the SQL (``detail`` is its reason)
422 declined               the provider could not turn the question into SQL
422 needs_clarification    the model asked a question back
422 execution_error        PostgreSQL raised while running the query
422 result_too_large       the answer holds more bytes than --max-bytes (the fetch stopped there)
421 misdirected_request    the Host header names no host this server answers for (DNS rebinding)
429 rate_limited           over the key's rate (``Retry-After`` says when to come back)
500 internal_error         a bug: the detail is generic, the server log has the rest
500 job_failed             the worker running a job was killed on every try: submit it again
502 provider_error         the provider failed (down, no key, unusable reply)
503 database_unavailable   the database cannot be reached
503 jobs_unavailable       POST /api/jobs without Redis, or Redis unreachable
504 timeout                the statement timeout cancelled the query
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from paysql_magic import egress
from paysql_magic.api.serialize import JsonResponse
from paysql_magic.errors import (
    ConfigError,
    DatabaseUnavailable,
    Declined,
    EmptyInput,
    ExecutionError,
    PaysqlError,
    ProviderError,
    QueryTimeout,
    ResultTooLarge,
    SchemaError,
    SqlRefused,
)

CLARIFICATION_PREFIX = "I need more detail:"  # how a Declined raised for a model's question back begins

# The first matching class wins: subclasses before their parents.
_STATUSES: tuple[tuple[type[PaysqlError], int, str], ...] = (
    (EmptyInput, 400, "bad_request"),
    (ConfigError, 400, "bad_request"),
    (Declined, 422, "declined"),
    (SqlRefused, 422, "refused"),
    (QueryTimeout, 504, "timeout"),
    (ExecutionError, 422, "execution_error"),
    (ResultTooLarge, 422, "result_too_large"),
    (ProviderError, 502, "provider_error"),
    (DatabaseUnavailable, 503, "database_unavailable"),
    (SchemaError, 503, "database_unavailable"),
)


class ApiError(Exception):
    """An HTTP error with its code and a one-line detail (and headers such as ``Retry-After``)."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.detail, self.headers)


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JsonResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def from_paysql(exc: PaysqlError) -> ApiError:
    """The HTTP error for a paysql error (passwords and API keys cut out of the detail)."""
    status, code = next(((s, c) for cls, s, c in _STATUSES if isinstance(exc, cls)), (500, "internal_error"))
    detail = exc.reason if isinstance(exc, SqlRefused) else str(exc)
    if isinstance(exc, Declined) and detail.startswith(CLARIFICATION_PREFIX):
        code = "needs_clarification"
    return ApiError(status, code, egress.redact(detail))
