"""The API trusts what it should and audits everything: one hostile call never stops another caller's audit rows,
an invalid UTF-8 body and every other refusal get their row, a foreign Host is refused (DNS rebinding), a forwarded
address is believed only from a named proxy, a token without a subject is refused, no secret reaches a worker's
environment or command line, a killed server leaves the call's start, results are capped in bytes, paysql's own
records are unreadable through ``/api/sql``, and ``/api/stats`` lists only the caller's own questions."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from serving import paysql_serve
from sqlalchemy import Engine, text

from paysql_magic import cli
from paysql_magic.api import ServeConfig, create_app
from paysql_magic.api.config import JwtConfig

pytestmark = pytest.mark.usefixtures("forget_what_this_module_cached")
LOOPBACK = "http://127.0.0.1"
SECRET = "hardening-secret-0123456789abcdef-0123456789"
JWT = JwtConfig(key=SECRET, algorithm="HS256", audience="paysql-magic")
TODAY = "Сколько транзакций было сегодня?"


def token(sub: object) -> str:
    return jwt.encode({"sub": sub, "aud": "paysql-magic", "exp": int(time.time() + 600)}, SECRET, algorithm="HS256")


def bearer(sub: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub)}"}


@pytest.fixture(scope="module")
def client(reader_url: str) -> Iterator[TestClient]:
    config = ServeConfig(database_url=reader_url, jwt=JWT, rate_limit="1000/minute", max_bytes=1024 * 1024)
    with TestClient(create_app(config), base_url=LOOPBACK) as c:
        yield c


def rows_of(admin_engine: Engine, user: str) -> list[dict]:
    with admin_engine.connect() as conn:
        result = conn.execute(
            text("SELECT status, error, question, generated_sql FROM paysql.query_audit_log WHERE user_name = :u "
                 "ORDER BY id"), {"u": user}
        )  # fmt: skip
        return [dict(row) for row in result.mappings()]


def _caller(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/query", {"question": TODAY + "\u0000"}),  # a NUL: PostgreSQL text cannot hold it
        ("/api/query", {"question": TODAY + "\ud800"}),  # a lone surrogate: no UTF-8 form at all
        ("/api/sql", {"sql": "SELECT 1 AS one -- \u0000"}),
        ("/api/sql", {"sql": "SELECT '\ud800' AS s", "question": "\u0000\ud800"}),
    ],
)
def test_one_hostile_call_then_three_calls_from_another_caller_write_four_rows(client, admin_engine, path, body):
    mallory, alice = _caller("mallory"), _caller("alice")
    hostile = client.post(
        path, content=json.dumps(body), headers={**bearer(mallory), "Content-Type": "application/json"}
    )
    assert hostile.status_code < 500, hostile.text
    for _ in range(3):
        assert client.post("/api/sql", json={"sql": "SELECT 1 AS one"}, headers=bearer(alice)).status_code == 200
    [row] = rows_of(admin_engine, mallory)
    assert len(rows_of(admin_engine, alice)) == 3
    if path == "/api/query":
        assert row["question"].startswith(TODAY)


def test_an_invalid_utf8_body_is_a_400_with_its_audit_row(client, admin_engine):
    caller = _caller("bytes")
    response = client.post(
        "/api/query",
        content=b'{"question": "\xff\xfe bad"}',
        headers={**bearer(caller), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
    assert "UTF-8" in response.json()["detail"]
    [row] = rows_of(admin_engine, caller)
    assert row["status"] == "refused" and "not valid UTF-8" in row["error"]


def test_a_wrong_method_on_an_audited_path_gets_its_row(client, admin_engine):
    caller = _caller("method")
    assert client.put("/api/query", json={"question": "x"}, headers=bearer(caller)).status_code == 405
    [row] = rows_of(admin_engine, caller)
    assert row["status"] == "refused" and row["error"].startswith("method_not_allowed")


@pytest.mark.parametrize("sub", ["", "   ", 42])
def test_a_token_without_a_subject_is_refused(client, sub):
    response = client.post("/api/query", json={"question": TODAY}, headers=bearer(sub))
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("path", ["/api/query", "/api/health", "/", "/docs", "/static/app.js"])
def test_a_foreign_host_is_refused_in_every_mode(reader_url, admin_engine, path):
    """DNS rebinding: a page on evil.example.com whose name now resolves to 127.0.0.1 reads an open server."""
    with TestClient(create_app(ServeConfig(database_url=reader_url)), base_url="http://evil.example.com") as c:
        response = c.post(path, json={"question": TODAY}) if path == "/api/query" else c.get(path)
    assert response.status_code == 421 and response.json()["error"] == "misdirected_request"
    assert "evil.example.com" in response.json()["detail"]
    config = ServeConfig(database_url=reader_url, allowed_hosts=("paysql.example.com",))
    with TestClient(create_app(config), base_url="http://paysql.example.com:3000") as c:
        assert c.get("/api/health").status_code == 200
    with TestClient(create_app(config), base_url="http://localhost:3000") as c:
        assert c.get("/api/health").status_code == 200


SIZE_ATTACK = "SELECT lpad('x', 5000000, 'y') AS s FROM generate_series(1, 10)"  # the issue's, at a tenth


def test_a_result_over_the_byte_cap_is_a_422_with_its_audit_row(client, admin_engine):
    caller = _caller("size")
    response = client.post("/api/sql", json={"sql": SIZE_ATTACK}, headers=bearer(caller))
    assert response.status_code == 422 and response.json()["error"] == "result_too_large"
    assert "1 MB" in response.json()["detail"]
    [row] = rows_of(admin_engine, caller)
    assert row["status"] == "error" and "the result is over 1 MB" in row["error"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT user_name, question, generated_sql, error FROM query_audit_log",
        "TABLE query_audit_log",
        "TABLE query_cache",
        "SELECT * FROM verified_examples",
        "SELECT * FROM paysql.query_audit_log",
        "SELECT * FROM paysql.audit_calls(NULL)",
        "SELECT name, key_hash FROM paysql.api_keys",
        "SELECT setconfig FROM pg_db_role_setting",
    ],
)
def test_paysqls_own_records_are_refused_through_the_sql_endpoint(client, sql):
    response = client.post("/api/sql", json={"sql": sql}, headers=bearer(_caller("reader")))
    assert response.status_code == 422 and response.json()["error"] == "refused"


def test_stats_list_only_the_callers_own_questions(client):
    alice, bob = _caller("alice"), _caller("bob")
    secret = f"Сколько транзакций было сегодня? {alice}"
    client.post("/api/sql", json={"sql": "SELECT 1 AS one", "question": secret}, headers=bearer(alice))
    mine = client.get("/api/stats", headers=bearer(alice)).json()
    theirs = client.get("/api/stats", headers=bearer(bob)).json()
    assert [q["question"] for q in mine["most_frequent_questions"]] == [secret]
    assert theirs["most_frequent_questions"] == []
    assert theirs["success_rate"]["calls"] >= mine["success_rate"]["calls"] >= 1  # aggregates: every call


# --- a real server: forwarded headers, its workers' environment, a kill mid-query -------------------------------


def _post(url: str, path: str, body: dict, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _audited(admin_engine: Engine, question: str) -> int:
    with admin_engine.connect() as conn:
        sql = "SELECT count(*) FROM paysql.query_audit_log WHERE question = :q"
        return conn.execute(text(sql), {"q": question}).scalar_one()


def test_a_forwarded_address_from_loopback_is_not_believed_and_no_secret_reaches_a_worker(
    reader_url, admin_engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("PAYSQL_JWT_SECRET", SECRET)  # every call needs a credential: refusals are audited per address
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    args = ["--workers", "2", "--rate-limit", "2/minute"]
    with paysql_serve(*args, log=tmp_path / "serve.log", ready=(401,)) as url:
        marker = f"forwarded {uuid.uuid4().hex[:8]}"
        for i in range(10):
            assert _post(url, "/api/query", {"question": marker}, {"X-Forwarded-For": f"10.9.8.{i}"}) == 401
        audited = _audited(admin_engine, marker)
        server = next(p for p in _children(os.getpid()) if b"serve" in Path(f"/proc/{p}/cmdline").read_bytes())
        workers = [p for p in _children(server) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        exposed = {
            p: Path(f"/proc/{p}/environ").read_bytes() + Path(f"/proc/{p}/cmdline").read_bytes() for p in workers
        }
    # one peer, 127.0.0.1, whatever X-Forwarded-For says: capped at the rate (counted by each worker); before, each
    # made-up address was a new caller: 10 rows
    assert 2 <= audited <= 2 * len(workers)
    assert len(workers) == 2
    for seen in exposed.values():
        assert SECRET.encode() not in seen and b"PAYSQL_SERVE_CONFIG" not in seen
        assert reader_url.encode() not in seen and b"PAYSQL_DATABASE_URL" not in seen


def test_forwarded_addresses_are_believed_only_from_the_named_proxies(reader_url, monkeypatch):
    import uvicorn

    seen: list = []

    class Server:  # uvicorn's, not started: only the config it is given matters here
        def __init__(self, config) -> None:
            seen.append(config)
            self.started = True

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn, "Server", Server)
    assert cli.main(["serve", "--database-url", reader_url]) == 0
    assert cli.main(["serve", "--database-url", reader_url, "--forwarded-allow-ips", "10.0.0.1, 10.0.0.2"]) == 0
    default, proxied = seen
    assert default.proxy_headers is False  # uvicorn's own default trusts 127.0.0.1
    assert proxied.proxy_headers is True and proxied.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]


SLOW = "SELECT count(*) FROM transactions a, transactions b, transactions c"


def _post_quietly(*args) -> None:
    with contextlib.suppress(OSError):  # the server dies under it
        _post(*args)


def test_a_server_killed_mid_query_leaves_the_calls_start(reader_url, admin_url, admin_engine, tmp_path, capsys):
    marker = f"killed mid-query {uuid.uuid4().hex[:8]}"
    with paysql_serve("--database-url", reader_url, "--timeout", "5", log=tmp_path / "serve.log") as url:
        server = next(p for p in _children(os.getpid()) if b"serve" in Path(f"/proc/{p}/cmdline").read_bytes())
        caller = threading.Thread(target=_post_quietly, args=(url, "/api/sql", {"sql": SLOW, "question": marker}))
        caller.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with admin_engine.connect() as conn:
                started = conn.execute(
                    text("SELECT call_id::text FROM paysql.call_starts WHERE question = :q"), {"q": marker}
                ).scalar()
            if started:
                break
            time.sleep(0.1)
        assert started, "the call's start was not written"
        time.sleep(0.5)
        os.kill(server, signal.SIGKILL)
        caller.join(timeout=10)
    assert _audited(admin_engine, marker) == 0  # no row: the process died before it could write one
    assert cli.main(["audit", "verify", "--database-url", admin_url]) == 0
    out = capsys.readouterr().out
    assert "started and not finished" in out and started in out


def test_refusals_are_capped_per_key_not_per_address(reader_url, admin_engine):
    """Two callers from one address: each gets its own allowance of audited refusals."""
    config = ServeConfig(database_url=reader_url, jwt=JWT, rate_limit="2/minute")
    callers = [_caller("capped"), _caller("capped")]
    with TestClient(create_app(config), base_url=LOOPBACK) as c:
        for caller in callers:
            codes = [
                c.post("/api/sql", json={"sql": "SELECT 1 AS one"}, headers=bearer(caller)).status_code
                for _ in range(5)
            ]
            assert codes == [200, 200, 429, 429, 429]
    for caller in callers:
        statuses = [row["status"] for row in rows_of(admin_engine, caller)]
        assert statuses == ["ok", "ok", "refused", "refused"]  # the third refusal is over the cap
