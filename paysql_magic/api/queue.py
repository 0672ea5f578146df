"""Long questions as jobs: ``POST /api/jobs`` puts a request on a queue in Redis, ``paysql worker`` runs it through
the same core as ``/api/query`` (one audit row per job), ``GET /api/jobs/{id}`` reads its state and result.

The queue is RQ's: synchronous like the core (SQLAlchemy, psycopg; arq would need an asyncio core), Redis only (the
store the result cache and the rate limit already use; Celery and Dramatiq bring brokers and layers this does not
need), and each job runs in a work horse forked for it. So:

- a job lives in Redis, not in the API instance that took it: it survives that instance's restart;
- a horse killed mid-job (OOM killer, ``kill -9``) is seen at once by its worker: the job is retried ``RETRIES``
  time(s), then failed. A whole worker killed leaves its job "started" until the job's heartbeat lapses (RQ's
  monitoring interval + 60 s); then the next ``GET`` or worker cleanup retries or fails it. Never lost;
- jobs are JSON in Redis (``JSONSerializer``): nothing read back from Redis is unpickled. A job holds the request
  and its caller, never a secret: the worker has its own database URL, keys and limits.

The rows of a finished job are Parquet under ``paysql:job:<id>:rows`` (the result cache's stored form), kept as long
as the job (``--job-ttl``, a day by default); the job's return value is the rest of ``/api/query``'s JSON, or the
error ``/api/query`` would have answered.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from paysql_magic import core, results
from paysql_magic.api.errors import ApiError, from_paysql
from paysql_magic.connection import engine_for
from paysql_magic.errors import ConfigError, PaysqlError
from paysql_magic.settings import DEFAULT_API_MAX_BYTES, DEFAULT_MAX_ROWS, Settings

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

log = logging.getLogger("paysql.jobs")

QUEUE_NAME = "paysql-jobs"
DEFAULT_JOB_TTL_S = 24 * 3600  # a job and its rows are kept this long (a job not started by then expires too)
RETRIES = 1  # a job whose work horse was killed runs once more, then fails
NOTEBOOK = "paysql worker"  # the audit log's ``notebook`` column for jobs
_JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # RQ: uuid4
_ROWS_KEY = "paysql:job:{}:rows"


@dataclass(frozen=True)
class WorkerSetup:
    """What the work horses run jobs with: the worker's own database, limits and result cache (never the API's)."""

    database_url: str = field(repr=False)
    redis_url: str = field(repr=False)
    timeout_s: float = 300.0
    max_rows: int = DEFAULT_MAX_ROWS
    max_bytes: int = DEFAULT_API_MAX_BYTES
    audit_url: str | None = field(default=None, repr=False)
    result_ttl: float = results.DEFAULT_TTL_S


@dataclass(frozen=True)
class JobView:
    """A job as its caller sees it: the state, and when it is over, the response (or the error) and its rows."""

    job_id: str
    state: str  # queued, running, done, failed
    response: dict[str, Any] | None = None
    frame: pd.DataFrame | None = None
    error: ApiError | None = None

    def summary(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "state": self.state}


def connect(redis_url: str) -> Redis:
    """The API's Redis client for the queue (short timeouts: Redis down is a 503 in a second, not a hang)."""
    import redis

    return redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=1)


def queue(connection: Redis) -> Queue:
    """The jobs' queue on ``connection`` (JSON, not pickle)."""
    try:
        from rq import Queue
        from rq.serializers import JSONSerializer
    except ImportError:
        raise ConfigError("jobs on Redis need the rq package: pip install 'paysql-magic[redis]'") from None

    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def submit(jobs: Queue, request: dict[str, Any], owner: str, ttl_s: float = DEFAULT_JOB_TTL_S) -> str:
    """Queue ``request`` (``/api/query``'s body, or ``/api/sql``'s) for ``owner``; the job's id. Raises the Redis
    client's error when Redis cannot be reached."""
    from rq import Retry

    ttl = max(1, int(ttl_s))
    job = jobs.enqueue_call(
        run,
        kwargs={"request": request},
        timeout=-1,  # bounded by the worker's statement timeout, not by a second clock
        result_ttl=ttl,
        failure_ttl=ttl,
        ttl=ttl,
        meta={"owner": owner},
        retry=Retry(max=RETRIES),
        description="paysql job",
    )
    return job.id


def load(jobs: Queue) -> tuple[int, int]:
    """(jobs waiting, workers listening) on the queue."""
    from rq import Worker

    return jobs.count, Worker.count(queue=jobs)


def find(jobs: Queue, job_id: str, owner: str) -> JobView | None:
    """``job_id`` as ``owner`` sees it; None when it does not exist, has expired or is another caller's."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry

    if not _JOB_ID.match(job_id):
        return None
    try:
        job = Job.fetch(job_id, connection=jobs.connection, serializer=jobs.serializer)
    except NoSuchJobError:
        return None
    if job.meta.get("owner") != owner:
        return None
    status = job.get_status()
    if status == JobStatus.STARTED:  # its horse or its worker may be dead: abandoned jobs are retried or failed
        StartedJobRegistry(queue=jobs).cleanup()
        status = job.get_status()
    if status == JobStatus.STARTED:
        return JobView(job_id, "running")
    if status == JobStatus.FINISHED:
        return _finished(jobs, job)
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        detail = f"the worker running job {job_id} stopped before it finished (tried {RETRIES + 1} times): submit again"
        return JobView(job_id, "failed", error=ApiError(500, "job_failed", detail))
    return JobView(job_id, "queued")


def _finished(jobs: Queue, job) -> JobView:
    outcome = job.return_value() or {}
    if "error" in outcome:
        error = ApiError(int(outcome["status"]), outcome["error"], outcome["detail"])
        return JobView(job.id, "failed", error=error)
    blob = jobs.connection.get(_ROWS_KEY.format(job.id))
    if blob is None:  # expired between the two reads
        detail = f"the rows of job {job.id} have expired: submit again"
        return JobView(job.id, "failed", error=ApiError(404, "not_found", detail))
    return JobView(job.id, "done", response=outcome["response"], frame=results.decode(blob).frame)


# -- in the worker ------------------------------------------------------------------------------------------------
_setup: WorkerSetup | None = None


def install(setup: WorkerSetup) -> None:
    """What ``run`` uses in this process and the work horses forked from it (``paysql worker`` calls this)."""
    global _setup
    _setup = setup


def run(request: dict[str, Any]) -> dict[str, Any]:
    """The job: answer ``request`` as ``/api/query`` (or ``/api/sql``) would, store the rows next to the job and
    return the rest of the response, or the error the API would have answered. Never raises for a failed call, so
    RQ retries only a job whose horse died (the core has then written no audit row for it)."""
    from rq import get_current_job

    from paysql_magic.api.queries import summary

    job = get_current_job()
    if _setup is None:
        raise RuntimeError("paysql jobs run in `paysql worker`")
    try:
        result = _answer(request, _setup)
    except PaysqlError as exc:
        error = from_paysql(exc)
        return {"error": error.code, "detail": error.detail, "status": error.status}
    except Exception:
        log.exception("paysql job %s failed", job.id if job else "?")
        return {"error": "internal_error", "detail": "internal error: the worker log has the details", "status": 500}
    blob = results.encode(results.Entry(result.frame, result.row_count, result.truncated, 0.0, 0.0))
    if blob is None:  # a column Parquet cannot type (mixed objects): its values as text
        blob = results.encode(results.Entry(_as_text(result.frame), result.row_count, result.truncated, 0.0, 0.0))
    ttl = job.result_ttl if job and job.result_ttl and job.result_ttl > 0 else DEFAULT_JOB_TTL_S
    if job is not None:
        job.connection.set(_ROWS_KEY.format(job.id), blob, ex=int(ttl))
    return {"response": summary(result)}


def _answer(request: dict[str, Any], setup: WorkerSetup) -> core.Result:
    settings = Settings(
        provider=request.get("provider") or "auto",
        model=request.get("model"),
        max_rows=min(request.get("max_rows") or setup.max_rows, setup.max_rows),
        max_bytes=setup.max_bytes,
        timeout_s=setup.timeout_s,
        audit_url=setup.audit_url,
        user_name=request.get("user"),
        notebook=NOTEBOOK,
        results=_results(setup),
        fresh_results=bool(request.get("fresh")),
    )
    engine = engine_for(setup.database_url)  # the horse's own: the worker opens no connection before it forks
    if request.get("sql"):
        sql, question = request["sql"], request.get("question")
        return core.run_sql(sql, engine, settings, question=question, source="edited", remember=False)
    return core.ask(request["question"], engine, settings, source="api")


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame.copy()
    for column in text.select_dtypes(include="object").columns:
        text[column] = text[column].map(lambda value: value if value is None else str(value))
    return text


def _results(setup: WorkerSetup) -> results.ResultCache | None:
    if setup.result_ttl <= 0:
        return None
    return results.from_url(setup.redis_url, setup.result_ttl, results.DEFAULT_MAX_ENTRY_BYTES)
