"""Several ``paysql serve`` instances behind nginx (Debian's ``nginx``, started unprivileged by ``tests/proxy.py``),
sharing a real Redis and the session's PostgreSQL: one rate limit across instances, a result cached by one served
by the other, and an instance stopped with SIGTERM loses no request (in-flight ones finish, new ones go to the
other instance through ``proxy_next_upstream``), none answered or audited twice."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from proxy import SNIPPET, access_lines, nginx
from serving import paysql_serve
from sqlalchemy import Engine, text

from paysql_magic.api.serve import read_secrets_file
from paysql_magic.errors import ConfigError

SECRET = "instances-secret-0123456789abcdef-0123456789"
RATE = 12  # per minute and caller, shared by the instances through Redis
SLOW_SQL = "SELECT count(*) AS n FROM generate_series(1, {}) AS g"


@dataclass
class Cluster:
    url: str  # nginx
    instances: list[str]  # host:port of each paysql serve
    processes: list[subprocess.Popen]
    directory: Path  # nginx's, holding its access log


@pytest.fixture
def cluster(reader_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    for name in ("PAYSQL_DATABASE_URL", "PAYSQL_REDIS_URL", "PAYSQL_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    secrets = tmp_path / "paysql.secrets"  # the secrets in an owner-only file, none in the environment
    secrets.touch(mode=0o600)
    # a JWT secret: every call has a subject, so each test counts its own calls
    secrets.write_text(f"PAYSQL_DATABASE_URL={reader_url}\nPAYSQL_REDIS_URL={redis_url}\nPAYSQL_JWT_SECRET={SECRET}\n")
    args = ["--rate-limit", f"{RATE}/minute", "--forwarded-allow-ips", "127.0.0.1", "--provider", "offline"]
    args += ["--secrets-file", str(secrets)]
    processes: list[subprocess.Popen] = []
    with ExitStack() as stack:
        urls = [
            stack.enter_context(paysql_serve(*args, log=tmp_path / f"serve{i}.log", ready=(401,), started=processes))
            for i in range(2)
        ]
        instances = [u.removeprefix("http://") for u in urls]
        url = stack.enter_context(nginx(tmp_path / "nginx", instances))
        yield Cluster(url, instances, processes, tmp_path / "nginx")


def _subject() -> str:
    return f"instances-{uuid.uuid4().hex[:8]}"


def _post(url: str, path: str, body: dict, sub: str) -> tuple[int, dict]:
    token = jwt.encode({"sub": sub, "aud": "paysql-magic", "exp": int(time.time() + 600)}, SECRET, algorithm="HS256")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(f"{url}{path}", json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _audit_rows(admin_engine: Engine, sub: str) -> list[tuple[str, str]]:
    with admin_engine.connect() as conn:
        query = text("SELECT call_id::text, status FROM paysql.query_audit_log WHERE user_name = :u")
        return [tuple(row) for row in conn.execute(query, {"u": sub})]


def _upstreams(cluster: Cluster, expected: int) -> list[list[str]]:
    """The instance(s) nginx tried for each ``POST /api/sql`` (``a, b`` when it went on to the next one), once the
    ``expected`` lines are logged (nginx writes a request's line just after its response, so the client may be
    first)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in access_lines(cluster.directory) if line[:2] == ["POST", "/api/sql"]]
        if len(lines) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return [[field.rstrip(",") for field in line[2:] if field.rstrip(",") in cluster.instances] for line in lines]


def test_the_rate_limit_holds_across_instances(cluster: Cluster, admin_engine: Engine) -> None:
    sub = _subject()
    statuses = [_post(cluster.url, "/api/sql", {"sql": "SELECT 1 AS one"}, sub)[0] for _ in range(RATE + 4)]
    assert statuses == [200] * RATE + [429] * 4
    served = {tried[-1] for tried in _upstreams(cluster, RATE + 4)}
    assert served == set(cluster.instances)  # nginx spread them: each instance alone stayed under the cap
    assert len(_audit_rows(admin_engine, sub)) == RATE + 4  # the 429s audited too, each once


def test_a_result_cached_by_one_instance_is_served_by_the_other(cluster: Cluster) -> None:
    sub = _subject()
    sql = f"SELECT count(*) AS n FROM transactions WHERE amount > {uuid.uuid4().int % 100_000}"
    answers = [_post(cluster.url, "/api/sql", {"sql": sql}, sub) for _ in range(2)]
    assert [status for status, _ in answers] == [200, 200]
    first, second = (body for _, body in answers)
    assert first["result_cached"] is False and second["result_cached"] is True
    assert second["data"] == first["data"]
    first_at, second_at = (tried[-1] for tried in _upstreams(cluster, 2))
    assert first_at != second_at  # round robin: the second went to the other instance


def test_stopping_one_instance_loses_no_request(cluster: Cluster, admin_engine: Engine, tmp_path: Path) -> None:
    sub = _subject()
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def call(sql: str) -> None:
        answer = _post(cluster.url, "/api/sql", {"sql": sql, "fresh": True}, sub)
        with lock:
            results.append(answer)

    slow = [threading.Thread(target=call, args=(SLOW_SQL.format(6_000_000 + i),)) for i in range(4)]
    for thread in slow:
        thread.start()
    time.sleep(0.3)  # in flight on both instances
    stopped = cluster.processes[0]
    stopped.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    later = [threading.Thread(target=call, args=(f"SELECT {i} AS i",)) for i in range(RATE - 4)]
    for thread in later:
        thread.start()
        time.sleep(0.05)
    for thread in slow + later:
        thread.join(timeout=60)

    assert stopped.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has drained
    assert sorted(status for status, _ in results) == [200] * RATE
    call_ids = [body["call_id"] for _, body in results]
    assert len(set(call_ids)) == RATE
    rows = _audit_rows(admin_engine, sub)
    assert sorted(call for call, _ in rows) == sorted(call_ids)  # one row a call: none answered twice
    tried = _upstreams(cluster, RATE)
    assert len(tried) == RATE
    gone = cluster.instances[0]
    assert sum(t == [gone] for t in tried) >= 1  # the stopped instance answered what it had in flight...
    log = (tmp_path / "serve0.log").read_text()
    assert '"POST /api/sql HTTP/1.0" 200' in log.partition("Shutting down")[2]  # ... after SIGTERM
    assert sum(t[-1] != gone for t in tried) >= RATE - 4  # and everything sent later went to the other one


def test_the_readme_shows_the_proxy_settings_the_tests_use() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    shown = readme.partition("```nginx")[2].partition("```")[0]
    settings = [line.strip() for line in SNIPPET.splitlines() if line.strip().startswith("proxy_")]
    assert len(settings) == 5
    for setting in [*settings, "max_fails=1 fail_timeout=10s;"]:
        assert setting in shown, setting


def test_a_secrets_file_others_may_read_or_naming_other_variables_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "secrets"
    file.write_text("# the API's secrets\n\nPAYSQL_JWT_SECRET=abc=def\nexport PAYSQL_REDIS_URL = redis://h:1/0\n")
    file.chmod(0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_secrets_file(str(file))
    file.chmod(0o600)
    assert read_secrets_file(str(file)) == {"PAYSQL_JWT_SECRET": "abc=def", "PAYSQL_REDIS_URL": "redis://h:1/0"}
    file.write_text("PATH=/tmp/evil\n")
    with pytest.raises(ConfigError, match="line 1"):
        read_secrets_file(str(file))
    with pytest.raises(ConfigError, match="cannot read"):
        read_secrets_file(str(tmp_path / "missing"))
