"""The request and response bodies of the HTTP API (the brief's contract), as pydantic models for OpenAPI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator


class QueryRequest(BaseModel):
    question: str = Field(description="The question, in Russian or English (at most 2,000 characters).")
    provider: str | None = Field(None, description="auto, gemini, ollama or offline (default: the server's).")
    model: str | None = Field(None, description="Model for the provider.")
    max_rows: int | None = Field(None, ge=1, description="At most this many rows (never more than the server's).")
    fresh: bool = Field(False, description="Run the SQL live, not from the result cache (and refresh the cache).")


class SqlRequest(BaseModel):
    sql: str = Field(description="Reviewed SQL: one read-only query, checked by the same guard.")
    question: str | None = Field(None, description="The question the SQL answers (kept in the audit log).")
    max_rows: int | None = Field(None, ge=1, description="At most this many rows (never more than the server's).")
    fresh: bool = Field(False, description="Run the SQL live, not from the result cache (and refresh the cache).")


class JobRequest(QueryRequest):
    """``/api/query``'s body (a question), or ``/api/sql``'s (reviewed SQL, the question kept as its note)."""

    question: str | None = Field(None, description="The question (or, with sql, the question the SQL answers).")
    sql: str | None = Field(None, description="Reviewed SQL to run instead of a question (as POST /api/sql).")

    @model_validator(mode="after")
    def _something_to_run(self) -> JobRequest:
        if not (self.question or "").strip() and not (self.sql or "").strip():
            raise ValueError("send a question or sql")
        return self


class QueryResponse(BaseModel):
    question: str | None
    sql: str
    columns: list[str]
    data: list[dict[str, Any]] = Field(description="One object per row: numbers, ISO dates, null for NULL.")
    row_count: int
    truncated: bool = Field(description="More rows existed than max_rows.")
    execution_time_ms: float
    llm_time_ms: float | None = Field(description="Time spent in the provider; null when none was called.")
    provider: str | None
    model: str | None
    cached: bool = Field(description="The SQL came from the query cache: no provider call.")
    call_id: str = Field(description="The call's id in query_audit_log.")
    result_cached: bool = Field(
        False, description="The rows came from the result cache (at most --result-ttl seconds old: see Age)."
    )


class JobState(BaseModel):
    job_id: str
    state: str = Field(description="queued, running, done or failed.")


class JobAccepted(JobState):
    url: str = Field(description="Where to read the job: GET it until its state is done (Retry-After says when).")


class JobResult(QueryResponse, JobState):
    """A finished job: its state and the same JSON as POST /api/query."""


class ErrorResponse(BaseModel):
    error: str = Field(description="A code: bad_request, unauthorized, refused, rate_limited, timeout, ...")
    detail: str


class Check(BaseModel):
    ok: bool
    detail: str


class HealthResponse(BaseModel):
    status: str = Field(description="ok, or unavailable when the database or the provider is not reachable.")
    database: Check
    provider: Check
    auth: str = Field(description="open (loopback, no keys) or required.")
