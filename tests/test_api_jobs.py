"""Long queries as jobs: ``POST /api/jobs`` on a real ``paysql serve``, run by a real ``paysql worker`` from an RQ
queue on a real Redis, over the session's PostgreSQL. The job answers as ``/api/query`` does (JSON, CSV, XLSX,
Parquet), has one audit row, is only its caller's, survives the restart of the API instance that took it, and a
worker killed mid-job leaves it retried or failed, never lost."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pandas as pd
import pytest
import redis
from rq.registry import StartedJobRegistry
from serving import free_port, paysql_serve, paysql_worker
from sqlalchemy import Engine, text

from paysql_magic.api import queue

SECRET = "jobs-secret-0123456789abcdef-0123456789abcdef"
JOBS_DB = 7  # the tests' queue lives in its own Redis database
SLOW_SQL = "SELECT count(*) AS n FROM generate_series(1, {}) AS g"
QUESTION = "Дневной объем транзакций за последние 7 дней"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Setup:
    secrets: Path
    redis_url: str
    directory: Path

    def serve(self, name: str):
        args = ("--secrets-file", str(self.secrets), "--provider", "offline", "--rate-limit", "1000/minute")
        return paysql_serve(*args, log=self.directory / f"{name}.log", ready=(401,))

    def worker(self, name: str):
        args = ("--secrets-file", str(self.secrets), "--timeout", "120")
        return paysql_worker(*args, redis_url=self.redis_url, log=self.directory / f"{name}.log")


@pytest.fixture(scope="module")
def setup(reader_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    jobs_url = redis_url.rsplit("/", 1)[0] + f"/{JOBS_DB}"
    redis.Redis.from_url(jobs_url).flushdb()
    directory = tmp_path_factory.mktemp("jobs")
    secrets = directory / "paysql.secrets"  # an owner-only file: no secret in an environment or a command line
    secrets.touch(mode=0o600)
    secrets.write_text(f"PAYSQL_DATABASE_URL={reader_url}\nPAYSQL_REDIS_URL={jobs_url}\nPAYSQL_JWT_SECRET={SECRET}\n")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("PAYSQL_DATABASE_URL", "PAYSQL_REDIS_URL", "PAYSQL_JWT_SECRET"):
            patch.delenv(name, raising=False)
        yield Setup(secrets, jobs_url, directory)


@pytest.fixture(scope="module")
def api(setup: Setup) -> Iterator[str]:
    with setup.serve("serve") as url:
        yield url


@pytest.fixture
def worker(setup: Setup) -> Iterator[subprocess.Popen]:
    with setup.worker(f"worker-{uuid.uuid4().hex[:6]}") as process:
        yield process


def _subject() -> str:
    return f"jobs-{uuid.uuid4().hex[:8]}"


def _call(url: str, path: str, sub: str, body: dict | None = None) -> Reply:
    token = jwt.encode({"sub": sub, "aud": "paysql-magic", "exp": int(time.time() + 600)}, SECRET, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data, headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Reply(response.status, _lower(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, _lower(exc.headers), exc.read())


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _submit(url: str, sub: str, body: dict) -> str:
    reply = _call(url, "/api/jobs", sub, body)
    assert reply.status == 202, reply.body
    job_id = reply.json()["job_id"]
    assert reply.headers["location"] == f"/api/jobs/{job_id}" and reply.headers["retry-after"]
    return job_id


def _wait(url: str, job_id: str, sub: str, timeout_s: float = 60) -> Reply:
    """GET the job until it is over (not 202)."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = _call(url, f"/api/jobs/{job_id}", sub)
        if reply.status != 202:
            return reply
        assert time.monotonic() < deadline, f"job {job_id} still {reply.json()['state']} after {timeout_s} s"
        time.sleep(0.1)


def _horse(worker: subprocess.Popen, other_than: int | None = None, timeout_s: float = 20) -> int:
    """The pid of the work horse the worker forked for its current job."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        pids = [int(pid) for pid in children if int(pid) != other_than]
        if pids:
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("the worker forked no work horse")


def _audit_rows(admin_engine: Engine, sub: str) -> list[tuple[str, str, str | None]]:
    with admin_engine.connect() as conn:
        query = "SELECT status, source, notebook FROM paysql.query_audit_log WHERE user_name = :u ORDER BY id"
        return [tuple(row) for row in conn.execute(text(query), {"u": sub})]


def _started(admin_engine: Engine, sub: str, calls: int) -> None:
    """Wait until ``calls`` calls of ``sub`` have started (their queries are running)."""
    deadline = time.monotonic() + 20
    while _starts(admin_engine, sub) < calls:
        assert time.monotonic() < deadline, f"{calls} call(s) did not start"
        time.sleep(0.05)


def _starts(admin_engine: Engine, sub: str) -> int:
    with admin_engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM paysql.call_starts WHERE user_name = :u"), {"u": sub}).scalar()


def test_a_job_answers_as_the_query_endpoint_does(api: str, worker: subprocess.Popen, admin_engine: Engine) -> None:
    sub = _subject()
    job_id = _submit(api, sub, {"question": QUESTION})
    done = _wait(api, job_id, sub)
    assert done.status == 200, done.body
    job = done.json()
    live = _call(api, "/api/query", sub, {"question": QUESTION}).json()
    assert job["job_id"] == job_id and job["state"] == "done"
    assert (job["sql"], job["columns"], job["data"], job["row_count"]) == (
        live["sql"],
        live["columns"],
        live["data"],
        live["row_count"],
    )
    assert set(live) <= set(job)
    expected = pd.DataFrame(live["data"])
    csv = _call(api, f"/api/jobs/{job_id}?format=csv", sub)
    assert csv.headers["content-type"].startswith("text/csv")
    assert f'filename="paysql-{job_id}.csv"' in csv.headers["content-disposition"]
    assert pd.read_csv(io.BytesIO(csv.body)).equals(expected)
    for fmt, read in (("xlsx", pd.read_excel), ("parquet", pd.read_parquet)):
        frame = read(io.BytesIO(_call(api, f"/api/jobs/{job_id}?format={fmt}", sub).body))
        assert list(frame.columns) == live["columns"]
        assert frame["total_volume"].tolist() == expected["total_volume"].tolist()
        assert pd.api.types.is_datetime64_any_dtype(frame["day"])  # dates stay dates
    # one row for the job (the worker's), one for the live call
    assert _audit_rows(admin_engine, sub) == [("ok", "api", "paysql worker"), ("ok", "api", "paysql serve")]


def test_a_job_is_only_its_callers(api: str, worker: subprocess.Popen) -> None:
    owner = _subject()
    job_id = _submit(api, owner, {"sql": "SELECT 1 AS one"})
    assert _wait(api, job_id, owner).status == 200
    for path in (f"/api/jobs/{job_id}", f"/api/jobs/{job_id}?format=csv"):
        reply = _call(api, path, _subject())
        assert reply.status == 404 and reply.json()["error"] == "not_found"
    for unknown in (str(uuid.uuid4()), "not-a-job", "rq:job:" + job_id):
        assert _call(api, f"/api/jobs/{unknown}", owner).status == 404
    reply = _call(api, f"/api/jobs/{job_id}?format=pdf", owner)
    assert reply.status == 400 and "format" in reply.json()["detail"]


def test_a_refused_job_answers_the_refusal_and_is_audited_once(
    api: str, worker: subprocess.Popen, admin_engine: Engine
) -> None:
    sub = _subject()
    reply = _wait(api, _submit(api, sub, {"sql": "DELETE FROM transactions"}), sub)
    body = reply.json()
    assert reply.status == 422 and (body["state"], body["error"]) == ("failed", "refused")
    assert "\n" not in body["detail"]
    assert _audit_rows(admin_engine, sub) == [("refused", "edited", "paysql worker")]
    empty = _call(api, "/api/jobs", sub, {"question": "  "})  # refused at once, with its audit row
    assert empty.status == 400 and "question or sql" in empty.json()["detail"]
    assert len(_audit_rows(admin_engine, sub)) == 2


def test_a_job_survives_the_restart_of_the_api_instance_that_took_it(setup: Setup, admin_engine: Engine) -> None:
    sub = _subject()
    with setup.serve("serve-first") as first:
        job_id = _submit(first, sub, {"question": QUESTION})  # no worker runs yet: the job waits in Redis
        assert _call(first, f"/api/jobs/{job_id}", sub).json()["state"] == "queued"
        health = _call(first, "/api/health", sub).json()["jobs"]
        assert health["ok"] is False and "1 waiting" in health["detail"]
    with setup.serve("serve-second") as second, setup.worker("worker-after-restart"):
        reply = _wait(second, job_id, sub)
        assert reply.status == 200 and reply.json()["row_count"] == 7
        assert _call(second, "/api/health", sub).json()["jobs"]["ok"] is True
    assert [row[0] for row in _audit_rows(admin_engine, sub)] == ["ok"]


def test_a_job_whose_work_horse_is_killed_is_retried_once(
    api: str, worker: subprocess.Popen, admin_engine: Engine
) -> None:
    sub = _subject()
    job_id = _submit(api, sub, {"sql": SLOW_SQL.format(20_000_000)})
    _started(admin_engine, sub, 1)
    os.kill(_horse(worker), signal.SIGKILL)  # the OOM killer, kill -9: mid-query
    reply = _wait(api, job_id, sub)
    assert reply.status == 200 and reply.json()["data"] == [{"n": 20_000_000}]
    assert _audit_rows(admin_engine, sub) == [("ok", "edited", "paysql worker")]  # the killed run wrote none
    assert _starts(admin_engine, sub) == 2  # ... but its start is visible: a call that never finished


def test_a_job_killed_on_every_try_fails_and_says_so(api: str, worker: subprocess.Popen, admin_engine: Engine) -> None:
    sub = _subject()
    job_id = _submit(api, sub, {"sql": SLOW_SQL.format(60_000_000)})
    _started(admin_engine, sub, 1)
    first = _horse(worker)
    os.kill(first, signal.SIGKILL)
    second = _horse(worker, other_than=first)
    _started(admin_engine, sub, 2)  # the retry has started its call: kill it mid-query too
    os.kill(second, signal.SIGKILL)
    reply = _wait(api, job_id, sub)
    body = reply.json()
    assert reply.status == 500 and (body["state"], body["error"]) == ("failed", "job_failed")
    assert "submit again" in body["detail"] and "\n" not in body["detail"]
    assert _audit_rows(admin_engine, sub) == [] and _starts(admin_engine, sub) == 2


def test_a_job_of_a_worker_killed_whole_is_retried_by_another(setup: Setup, api: str, admin_engine: Engine) -> None:
    """The worker and its horse killed at once: nobody marks the job, it stays "running" until its heartbeat
    lapses (RQ: the monitoring interval + 60 s); the registry's cleanup at that time (moved forward here, as the next
    GET or a worker does it then) puts it back on the queue, and another worker finishes it."""
    sub = _subject()
    with setup.worker("worker-killed") as doomed:
        job_id = _submit(api, sub, {"sql": SLOW_SQL.format(30_000_000)})
        _started(admin_engine, sub, 1)
        horse = _horse(doomed)
        os.kill(doomed.pid, signal.SIGKILL)
        os.kill(horse, signal.SIGKILL)
        doomed.wait()
    assert _call(api, f"/api/jobs/{job_id}", sub).json()["state"] == "running"  # its heartbeat has not lapsed
    jobs = queue.queue(redis.Redis.from_url(setup.redis_url))
    StartedJobRegistry(queue=jobs).cleanup(timestamp=time.time() + 3600)
    assert _call(api, f"/api/jobs/{job_id}", sub).json()["state"] == "queued"
    with setup.worker("worker-rescue"):
        reply = _wait(api, job_id, sub)
    assert reply.status == 200 and reply.json()["data"] == [{"n": 30_000_000}]
    assert [row[0] for row in _audit_rows(admin_engine, sub)] == ["ok"]


def test_redis_down_jobs_answer_503_and_queries_still_answer(
    setup: Setup, reader_url: str, admin_engine: Engine, tmp_path: Path
) -> None:
    secrets = tmp_path / "down.secrets"
    secrets.touch(mode=0o600)
    secrets.write_text(
        f"PAYSQL_DATABASE_URL={reader_url}\nPAYSQL_REDIS_URL=redis://127.0.0.1:{free_port()}/0\n"
        f"PAYSQL_JWT_SECRET={SECRET}\n"
    )
    sub = _subject()
    args = ("--secrets-file", str(secrets), "--provider", "offline")
    with paysql_serve(*args, log=tmp_path / "serve.log", ready=(401,)) as url:
        reply = _call(url, "/api/jobs", sub, {"question": QUESTION})
        body = reply.json()
        assert reply.status == 503 and body["error"] == "jobs_unavailable" and "\n" not in body["detail"]
        assert _call(url, f"/api/jobs/{uuid.uuid4()}", sub).status == 503
        health = _call(url, "/api/health", sub)
        assert health.status == 200 and health.json()["jobs"]["ok"] is False
        assert _call(url, "/api/query", sub, {"question": QUESTION}).status == 200
    assert [row[0] for row in _audit_rows(admin_engine, sub)] == ["error", "ok"]


def test_a_worker_without_redis_says_so_in_one_line(reader_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PAYSQL_REDIS_URL", "PAYSQL_DATABASE_URL")}
    command = [sys.executable, "-m", "paysql_magic.cli", "worker", "--database-url", reader_url, "--burst"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "paysql: paysql worker needs Redis: set PAYSQL_REDIS_URL (or put it in --secrets-file)"
    ]
