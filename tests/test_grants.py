"""Least privilege: ``paysql grant-readonly`` prints, or applies, the same grants the demo reader gets."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from paysql_magic import audit, cli, grants
from paysql_magic.demo.dataset import with_user

ROLE = "paysql_test_readonly"


def _grant(capsys, *args: str) -> list[str]:
    assert cli.main(["grant-readonly", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_statements_for_a_production_database(admin_url, capsys):
    lines = _grant(capsys, "--role", "analyst ro", "--database-url", admin_url, "--tables", "merchants,transactions")
    assert lines[0].startswith("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst ro')")
    assert 'ALTER ROLE "analyst ro" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;' in lines
    assert f'GRANT CONNECT ON DATABASE "{make_url(admin_url).database}" TO "analyst ro";' in lines
    assert 'GRANT SELECT ON "merchants", "transactions" TO "analyst ro";' in lines
    assert 'GRANT INSERT, SELECT ON query_audit_log TO "analyst ro";' in lines
    assert 'GRANT SELECT, INSERT, UPDATE ON query_cache, verified_examples TO "analyst ro";' in lines
    assert 'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "analyst ro";' in lines
    assert any(line.startswith("REVOKE EXECUTE ON FUNCTION pg_terminate_backend") for line in lines)
    assert not any("UPDATE ON query_audit_log" in line or "DELETE" in line for line in lines)


def test_by_default_every_table_of_public_but_paysqls_own_is_granted(admin_url, capsys):
    lines = _grant(capsys, "--role", "analyst", "--database-url", admin_url)
    expected = 'GRANT SELECT ON "customers", "mcc_codes", "merchants", "transactions" TO "analyst";'
    assert expected in lines


def test_the_demo_reader_gets_the_same_statements():
    demo = grants.readonly_statements("paysql_reader", "payments", ["mcc_codes"])
    production = grants.readonly_statements("analyst", "payments", ["mcc_codes"])
    assert [s.replace('"paysql_reader"', "R").replace("'paysql_reader'", "'R'") for s in demo] == [
        s.replace('"analyst"', "R").replace("'analyst'", "'R'") for s in production
    ]


@pytest.fixture
def applied_role(admin_url, admin_engine, capsys):
    _grant(capsys, "--role", ROLE, "--database-url", admin_url, "--apply")
    engine = create_engine(with_user(admin_url, ROLE))
    yield engine
    engine.dispose()
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {ROLE}; DROP ROLE {ROLE}"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE merchants SET city = 'Almaty'",
        "DELETE FROM transactions",
        "UPDATE query_audit_log SET status = 'ok'",
        "DELETE FROM query_audit_log",
        "CREATE TABLE public.evil (id int)",
    ],
)
def test_an_applied_role_reads_and_appends_but_changes_nothing(applied_role, statement):
    with applied_role.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM merchants")).scalar_one() == 300
        assert conn.execute(text("SELECT session_user")).scalar_one() == ROLE
    with applied_role.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(statement))
    assert audit.write(applied_role, audit.AuditRecord(source="api", status="ok", user_name=ROLE))
    with applied_role.connect() as conn:
        sql = "SELECT db_user FROM query_audit_log WHERE user_name = :u ORDER BY id DESC LIMIT 1"
        assert conn.execute(text(sql), {"u": ROLE}).scalar_one() == ROLE
