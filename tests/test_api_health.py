"""``GET /api/health`` for a role that can read no table: one line under ``schema``, ``degraded``, 503, no crash;
and ``ok`` again once the role is granted a table. A scratch database and role of this module's own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from paysql_magic.api import ServeConfig, create_app

LOOPBACK = "http://127.0.0.1"  # the Host the API answers (any other gets 421: DNS rebinding)


@pytest.fixture(scope="module")
def scratch(admin_url: str) -> Iterator[tuple[Engine, str, str]]:
    """A scratch database with one table and a login role that may SELECT nothing: (admin engine, role, its URL)."""
    suffix = secrets.token_hex(4)
    database, role, password = f"health_test_{suffix}", f"health_test_blind_{suffix}", secrets.token_urlsafe(12)
    server = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database}")
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    admin = create_engine(make_url(admin_url).set(database=database))
    url = make_url(admin_url).set(database=database, username=role, password=password)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE payments (payment_id bigint PRIMARY KEY, amount bigint NOT NULL)")
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")  # the schema, not its table
        yield admin, role, url.render_as_string(hide_password=False)
    finally:
        admin.dispose()
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        server.dispose()


@pytest.fixture
def client(scratch: tuple[Engine, str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("PAYSQL_SCHEMAS", raising=False)
    app = create_app(ServeConfig(database_url=scratch[2], provider="offline", rate_limit="1000/minute"))
    with TestClient(app, base_url=LOOPBACK) as c:
        yield c
    app.state.backend.engine.dispose()


def test_a_role_that_reads_no_table_is_degraded_with_the_reason_in_one_line(client: TestClient) -> None:
    response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] and body["database"]["detail"].startswith("connected to health_test_")
    assert body["provider"]["ok"]
    assert body["schema"]["ok"] is False
    detail = body["schema"]["detail"]
    assert detail.startswith("no table this role can read in schemas public (set Ask.schemas / ")
    assert "\n" not in detail


def test_health_is_ok_once_the_role_may_read_a_table(client: TestClient, scratch: tuple[Engine, str, str]) -> None:
    admin, role, _ = scratch
    assert client.get("/api/health").status_code == 503
    with admin.begin() as conn:
        conn.exec_driver_sql(f"GRANT SELECT ON payments TO {role}")
    try:
        response = client.get("/api/health")  # a failed introspection is not cached: the grant shows at once

        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["schema"] == {"ok": True, "detail": "1 table readable in public"}
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"REVOKE SELECT ON payments FROM {role}")


def test_the_openapi_document_describes_the_schema_check(client: TestClient) -> None:
    health = client.get("/openapi.json").json()["components"]["schemas"]["Health"]
    assert {"status", "database", "schema", "provider", "auth"} <= set(health["properties"])
