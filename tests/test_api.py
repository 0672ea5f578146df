"""The HTTP API in process (FastAPI's TestClient) on the session's demo database: the brief's JSON, the error
codes, the body limits, the headers, the docs and the audit rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from paysql_magic.api import ServeConfig, create_app
from paysql_magic.api.gate import CONTENT_SECURITY_POLICY

LOOPBACK = "http://127.0.0.1"  # the Host the API answers (any other gets 421: DNS rebinding)

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]

TODAY_COUNT = "Сколько транзакций было сегодня?"
pytestmark = pytest.mark.usefixtures("forget_what_this_module_cached")


@pytest.fixture(scope="module")
def client(reader_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(ServeConfig(database_url=reader_url, rate_limit="1000/minute")), base_url=LOOPBACK) as c:
        yield c


def audit_row(admin_engine: Engine, call_id: str) -> dict:
    with admin_engine.connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM paysql.query_audit_log WHERE call_id = :c"), {"c": call_id})
            .mappings()
            .one()
        )
    return dict(row)


def last_audit_row(admin_engine: Engine) -> dict:
    with admin_engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT * FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).mappings().one()
        )


def test_query_answers_in_the_briefs_shape_and_is_audited(
    client: TestClient, admin_engine: Engine, transactions_today: int
) -> None:
    response = client.post("/api/query", json={"question": TODAY_COUNT})

    assert response.status_code == 200
    body = response.json()
    expected = transactions_today
    assert body["data"] == [{"total_transactions": expected}]
    assert body["columns"] == ["total_transactions"]
    assert body["question"] == TODAY_COUNT
    assert body["row_count"] == 1 and body["truncated"] is False
    assert body["provider"] == "offline" and body["model"]
    assert isinstance(body["execution_time_ms"], float)
    assert "FROM transactions" in body["sql"]
    row = audit_row(admin_engine, body["call_id"])
    assert (row["source"], row["status"], row["user_name"], row["notebook"]) == (
        "api",
        "ok",
        "anonymous",
        "paysql serve",
    )
    assert row["question"] == TODAY_COUNT and row["row_count"] == 1


def test_a_rerun_comes_from_the_cache_with_no_llm_time(client: TestClient) -> None:
    client.post("/api/query", json={"question": "Сколько транзакций было вчера?"})
    body = client.post("/api/query", json={"question": "Сколько транзакций было вчера?"}).json()

    assert body["cached"] is True
    assert body["llm_time_ms"] is None


def test_sql_endpoint_keeps_json_types_and_escapes_nothing(client: TestClient, admin_engine: Engine) -> None:
    sql = (
        "SELECT 1.50::numeric AS amount, 42::bigint AS n, DATE '2026-01-05' AS day, "
        "TIMESTAMPTZ '2026-01-05 10:00:00+05' AS ts, TIMESTAMP '2026-01-05 10:30:00' AS local_ts, "
        "NULL::int AS missing, 'NaN'::float8 AS nan, true AS flag, '<script>alert(1)</script>'::text AS merchant_name"
    )
    response = client.post("/api/sql", json={"sql": sql, "question": "types"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == [
        {
            "amount": 1.5,
            "n": 42,
            "day": "2026-01-05",
            "ts": "2026-01-05T10:00:00+05:00",
            "local_ts": "2026-01-05T10:30:00",
            "missing": None,
            "nan": None,
            "flag": True,
            "merchant_name": "<script>alert(1)</script>",
        }
    ]
    assert body["provider"] is None and body["model"] is None and body["llm_time_ms"] is None
    assert '"nan":null' in response.text  # valid JSON: no bare NaN
    row = audit_row(admin_engine, body["call_id"])
    assert (row["source"], row["status"], row["question"]) == ("edited", "ok", "types")
    with admin_engine.connect() as conn:  # an API caller's SQL never becomes a few-shot example for everyone
        examples = conn.execute(text("SELECT count(*) FROM paysql.verified_examples WHERE question = 'types'")).scalar()
    assert examples == 0


def test_max_rows_truncates_and_says_so(client: TestClient) -> None:
    body = client.post("/api/sql", json={"sql": "SELECT transaction_id FROM transactions", "max_rows": 3}).json()

    assert body["row_count"] == 3 and len(body["data"]) == 3
    assert body["truncated"] is True


@pytest.mark.parametrize(
    ("path", "payload", "status", "code", "detail"),
    [
        ("/api/sql", {"sql": "DELETE FROM transactions"}, 422, "refused", "DELETE is not allowed"),
        ("/api/sql", {"sql": "SELECT 1/0 AS x"}, 422, "execution_error", "division by zero"),
        ("/api/query", {"question": "Какая погода в Алматы?"}, 422, "declined", "offline provider cannot answer"),
        ("/api/query", {"question": "   "}, 400, "bad_request", "question is empty"),
        ("/api/query", {"question": "x", "provider": "chatgpt"}, 400, "bad_request", "unknown provider"),
    ],
)
def test_errors_map_to_their_codes_and_are_audited(
    client: TestClient, admin_engine: Engine, path: str, payload: dict, status: int, code: str, detail: str
) -> None:
    response = client.post(path, json=payload)

    assert response.status_code == status
    assert response.json()["error"] == code
    assert detail in response.json()["detail"]
    row = last_audit_row(admin_engine)
    assert row["success"] is False and row["user_name"] == "anonymous"
    assert detail in row["error"]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({}, "body.question: Field required"),
        ({"question": 5}, "body.question"),
        ({"question": "x", "max_rows": 0}, "max_rows"),
    ],
)
def test_fastapi_validation_errors_become_400_bad_request(client: TestClient, payload: dict, problem: str) -> None:
    response = client.post("/api/query", json=payload)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert problem in response.json()["detail"]


def test_malformed_json_is_bad_request(client: TestClient) -> None:
    response = client.post("/api/query", content=b'{"question": ', headers={"Content-Type": "application/json"})

    assert response.status_code == 400 and response.json()["error"] == "bad_request"


def test_body_over_10_kb_is_413_too_large_and_audited(client: TestClient, admin_engine: Engine) -> None:
    payload = json.dumps({"question": TODAY_COUNT, "padding": "x" * 10_300}).encode()
    response = client.post("/api/query", content=payload, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json() == {"error": "too_large", "detail": "the request body is over 10,240 bytes"}
    row = last_audit_row(admin_engine)
    assert (row["status"], row["source"]) == ("refused", "api") and row["error"].startswith("too_large")


def test_chunked_body_over_10_kb_is_413_too(client: TestClient) -> None:
    chunks = (b"x" * 4096 for _ in range(3))
    response = client.post("/api/query", content=chunks, headers={"Content-Type": "application/json"})

    assert response.status_code == 413


def test_question_over_2000_characters_is_413_too_large(client: TestClient, admin_engine: Engine) -> None:
    question = "Сколько транзакций " + "a" * 2_000
    payload = json.dumps({"question": question}, ensure_ascii=False).encode()
    response = client.post("/api/query", content=payload, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"] == "too_large" and "2,000" in response.json()["detail"]
    assert last_audit_row(admin_engine)["error"].startswith("too_large")


@pytest.mark.parametrize("path", ["/api/health", "/docs", "/openapi.json", "/nowhere"])
def test_every_response_carries_csp_and_nosniff(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_path_and_method_are_json_errors(client: TestClient) -> None:
    assert client.get("/nowhere").json()["error"] == "not_found"
    assert client.get("/api/query").json()["error"] == "method_not_allowed"


def test_docs_work_offline_under_the_csp(client: TestClient) -> None:
    page = client.get("/docs")

    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/docs/assets/swagger-ui-bundle.js"></script>' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP allows 'self' only
    assert "cdn" not in page.text.lower()
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/init.js").text.startswith("window.ui = SwaggerUIBundle(")
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/query", "/api/sql", "/api/jobs", "/api/jobs/{job_id}", "/api/health", "/api/stats"} <= set(paths)


def test_health_reports_database_and_provider(client: TestClient) -> None:
    body = client.get("/api/health").json()

    assert body["status"] == "ok" and body["auth"] == "open"
    assert body["database"]["ok"] and body["provider"]["ok"]
    assert "offline" in body["provider"]["detail"]
    assert body["schema"]["ok"] and body["schema"]["detail"].endswith(" tables readable in public")


def test_without_redis_jobs_are_503_and_say_what_they_need(client: TestClient) -> None:
    reply = client.post("/api/jobs", json={"question": "Сколько транзакций было сегодня?"})

    assert reply.status_code == 503 and reply.json()["error"] == "jobs_unavailable"
    assert "PAYSQL_REDIS_URL" in reply.json()["detail"] and "paysql worker" in reply.json()["detail"]
    assert client.get(f"/api/jobs/{uuid.uuid4()}").status_code == 404
    assert client.get("/api/health").json()["jobs"] == {
        "ok": True,
        "detail": "off (no PAYSQL_REDIS_URL): POST /api/jobs answers 503",
    }


def test_health_is_503_when_the_provider_is_unreachable(reader_url: str) -> None:
    config = ServeConfig(database_url=reader_url, provider="ollama")  # conftest: nothing listens at OLLAMA_HOST
    with TestClient(create_app(config), base_url=LOOPBACK) as c:
        response = c.get("/api/health")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and not response.json()["provider"]["ok"]


def test_stats_are_the_briefs_monitoring_queries(client: TestClient, admin_engine: Engine) -> None:
    """The caller's own questions (here the open server's anonymous caller); the aggregates over every call."""
    client.post("/api/query", json={"question": TODAY_COUNT})
    body = client.get("/api/stats").json()

    with admin_engine.connect() as conn:
        calls, ok = conn.execute(
            text("SELECT count(*), count(*) FILTER (WHERE success) FROM paysql.query_audit_log")
        ).one()
        top = conn.execute(
            text(
                "SELECT question, count(*) FROM paysql.query_audit_log "
                "WHERE question IS NOT NULL AND user_name = 'anonymous' AND db_user = 'paysql_reader' "
                "GROUP BY 1 ORDER BY 2 DESC, 1"
            )
        ).first()
    assert body["success_rate"]["calls"] == calls and body["success_rate"]["successful"] == ok
    assert body["most_frequent_questions"][0] == {"question": top[0], "calls": top[1]}
    assert len(body["calls_per_day"]) == 30 and body["calls_per_day"][-1]["calls"] >= 1
    assert body["average_execution_time"]["avg_execution_ms"] > 0
    assert isinstance(body["unfinished_calls"], list)


def test_unreachable_database_is_503(closed_url: str) -> None:
    url = closed_url.replace("http://", "postgresql://nobody:secret-pw@") + "/payments?connect_timeout=2"
    with (
        TestClient(create_app(ServeConfig(database_url=url)), base_url=LOOPBACK) as c,
        pytest.warns(UserWarning, match="audit row not"),
    ):
        response = c.post("/api/query", json={"question": TODAY_COUNT})  # the refusal's audit row waits, kept

    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert "secret-pw" not in response.text


def test_statement_timeout_is_504(reader_url: str) -> None:
    config = ServeConfig(database_url=reader_url, timeout_s=0.2)
    slow = "SELECT count(*) AS n FROM transactions AS a CROSS JOIN transactions AS b"
    with TestClient(create_app(config), base_url=LOOPBACK) as c:
        response = c.post("/api/sql", json={"sql": slow})

    assert response.status_code == 504 and response.json()["error"] == "timeout"


def test_cors_is_closed_by_default_and_opens_per_origin(client: TestClient, reader_url: str) -> None:
    preflight = {"Origin": "https://bi.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/api/query", headers=preflight).headers

    config = ServeConfig(database_url=reader_url, cors_origins=("https://bi.example",))
    with TestClient(create_app(config), base_url=LOOPBACK) as c:
        response = c.options("/api/query", headers=preflight)
    assert response.headers["access-control-allow-origin"] == "https://bi.example"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


class TestGemini:
    """The LLM path's errors, through the real google-genai client against a loopback server."""

    @pytest.fixture(autouse=True)
    def gemini(self, monkeypatch: pytest.MonkeyPatch, gemini_server: Loopback) -> Loopback:
        monkeypatch.setenv("GEMINI_API_KEY", "AIzaFAKE-loopback-key-0123456789")
        monkeypatch.setenv("GEMINI_BASE_URL", gemini_server.url)
        return gemini_server

    def test_a_question_back_is_needs_clarification(self, client: TestClient, gemini: Loopback) -> None:
        reply = {"sql": "", "tables": [], "assumptions": [], "needs_clarification": "Which period?"}
        gemini.always("gemini", gemini.gemini_text(json.dumps(reply)))
        response = client.post("/api/query", json={"question": "Оборот по регионам", "provider": "gemini"})

        assert response.status_code == 422
        assert response.json() == {"error": "needs_clarification", "detail": "I need more detail: Which period?"}

    def test_a_failing_provider_is_502_with_the_key_masked(self, client: TestClient, gemini: Loopback) -> None:
        gemini.always("gemini", gemini.gemini_error(400, "INVALID_ARGUMENT", "bad request"))
        response = client.post("/api/query", json={"question": "Оборот за вчера", "provider": "gemini"})

        assert response.status_code == 502 and response.json()["error"] == "provider_error"
        assert "AIzaFAKE" not in response.text


def test_decimals_and_odd_values_become_json_values() -> None:
    from decimal import Decimal

    import pandas as pd

    from paysql_magic.api.serialize import column_values

    values = [Decimal("12.50"), Decimal("7"), Decimal("NaN"), Decimal("Infinity"), None]
    assert column_values(pd.Series(values, dtype=object)) == [12.5, 7, None, None, None]
    assert column_values(pd.Series([pd.Timestamp("2026-01-05"), pd.NaT])) == ["2026-01-05", None]
    assert column_values(pd.Series([1, None], dtype="Int64")) == [1, None]


def test_config_travels_to_workers_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from paysql_magic.api.config import env_jwt, env_serve_config

    monkeypatch.setenv("PAYSQL_JWT_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret")
    monkeypatch.setenv("PAYSQL_JWT_AUDIENCE", "reports")
    config = ServeConfig(
        database_url="postgresql://u:pw@db/payments", cors_origins=("https://a.example",), jwt=env_jwt()
    )
    monkeypatch.setenv("PAYSQL_SERVE_CONFIG", config.to_json())

    assert env_serve_config() == config
    assert config.jwt is not None and (config.jwt.algorithm, config.jwt.audience) == ("HS256", "reports")
    assert "pw" not in repr(config) and "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("10.0.0.5", False)],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert ServeConfig(database_url="postgresql://db/payments", host=host).loopback is loopback


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--database-url", "postgresql://db/payments", "--rate-limit", "lots"], "bad rate limit 'lots'"),
        ([], "paysql serve needs a database"),
    ],
)
def test_serve_refuses_a_bad_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    from paysql_magic.cli import main

    monkeypatch.delenv("PAYSQL_DATABASE_URL", raising=False)
    assert main(["serve", *args]) == 1
    assert message in capsys.readouterr().err
