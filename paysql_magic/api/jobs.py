"""``POST /api/jobs`` and ``GET /api/jobs/{id}``: a question (or reviewed SQL) answered by ``paysql worker`` for a
client whose own timeout is shorter than the query (a chat bot's 30 s, a BI export). The queue is ``queue``'s; the
worker writes the call's audit row, so each job has one, as each ``/api/query`` call has; a job refused here gets
its refusal row instead."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from paysql_magic import export
from paysql_magic.api import queue, serialize
from paysql_magic.api.backend import BackendDep, CallerDep
from paysql_magic.api.errors import ApiError
from paysql_magic.api.models import ErrorResponse, JobAccepted, JobRequest, JobResult, JobState
from paysql_magic.api.queries import checked, refused
from paysql_magic.connection import first_line

PATH = "/api/jobs"  # audited (refusals.AUDITED) under this path
POLL_S = 2  # Retry-After while a job waits or runs
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 413, 422, 429, 500, 502, 503, 504)}

router = APIRouter(prefix="/api", tags=["jobs"], responses=_ERRORS)


@router.post("/jobs", status_code=202, response_model=JobAccepted)
def submit(body: JobRequest, who: CallerDep, api: BackendDep) -> JSONResponse:
    """Queue a question (``/api/query``'s body) or reviewed SQL (``/api/sql``'s): 202 and the job's id at once."""
    settings = checked(api, PATH, who, body, asks=not body.sql)
    if api.jobs is None:
        detail = "jobs need Redis: start paysql serve with PAYSQL_REDIS_URL, and run `paysql worker`"
        raise refused(api, PATH, who, body.model_dump(), ApiError(503, "jobs_unavailable", detail))
    request = {
        "question": body.question,
        "sql": body.sql,
        "provider": settings.provider,
        "model": settings.model,
        "max_rows": settings.max_rows,
        "fresh": body.fresh,
        "user": who.name,
    }
    try:
        job_id = queue.submit(api.jobs, request, who.rate_key, api.config.job_ttl)
    except Exception as exc:  # Redis down or refusing: one line, and the refusal's audit row
        detail = f"the job queue (Redis) cannot be reached: {first_line(exc)}"
        raise refused(api, PATH, who, body.model_dump(), ApiError(503, "jobs_unavailable", detail)) from None
    url = f"{PATH}/{job_id}"
    headers = {"Location": url, "Retry-After": str(POLL_S)}
    return JSONResponse({"job_id": job_id, "state": "queued", "url": url}, status_code=202, headers=headers)


@router.get(
    "/jobs/{job_id}",
    response_model=JobResult,
    responses={202: {"model": JobState}, 200: {"content": {media: {} for media in _MEDIA.values()}}},
)
def read(
    job_id: str,
    who: CallerDep,
    api: BackendDep,
    format: Literal["json", "csv", "xlsx", "parquet"] = Query("json", description="The rows' format once done."),
) -> Response:
    """The job's state (202 while it waits or runs); once done, the same JSON as ``POST /api/query``, or its rows as
    CSV, XLSX or Parquet; a failed job answers the error ``/api/query`` would have. 404 for a job that does not
    exist, has expired or is another caller's."""
    if api.jobs is None:
        raise ApiError(404, "not_found", f"no job {job_id[:40]}: this server keeps no jobs (no PAYSQL_REDIS_URL)")
    try:
        view = queue.find(api.jobs, job_id, who.rate_key)
    except Exception as exc:
        raise ApiError(503, "jobs_unavailable", f"the job queue (Redis) cannot be reached: {first_line(exc)}") from None
    if view is None:
        raise ApiError(404, "not_found", f"no job {job_id[:40]} for {who.name}: unknown, expired or another caller's")
    if view.error is not None:
        return serialize.JsonResponse(
            {**view.summary(), "error": view.error.code, "detail": view.error.detail}, status_code=view.error.status
        )
    if view.frame is None or view.response is None:
        return serialize.JsonResponse(view.summary(), status_code=202, headers={"Retry-After": str(POLL_S)})
    if format == "json":
        return serialize.JsonResponse({**view.summary(), **view.response, "data": serialize.rows(view.frame)})
    filename = f"paysql-{job_id}.{format}"
    return Response(
        export.to_bytes(view.frame, f".{format}"),
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
