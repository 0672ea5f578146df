"""Least privilege: ``paysql grant-readonly`` prints, or applies, the same grants the demo reader gets."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from databases import drop_database, fresh_database
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from paysql_magic import audit, cli, core, grants, privileges
from paysql_magic.demo.dataset import with_user
from paysql_magic.providers.scripted import ScriptedProvider
from paysql_magic.settings import Settings

ROLE = "paysql_test_readonly"


def _grant(capsys, *args: str) -> list[str]:
    assert cli.main(["grant-readonly", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_statements_for_a_production_database(admin_url, capsys):
    lines = _grant(capsys, "--role", "analyst ro", "--database-url", admin_url, "--tables", "merchants,transactions")
    assert lines[0].startswith("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst ro')")
    assert 'ALTER ROLE "analyst ro" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;' in lines
    assert f'GRANT CONNECT ON DATABASE "{make_url(admin_url).database}" TO "analyst ro";' in lines
    assert 'GRANT SELECT ON "public"."merchants", "public"."transactions" TO "analyst ro";' in lines
    assert 'GRANT USAGE ON SCHEMA paysql TO "analyst ro";' in lines
    assert 'REVOKE ALL ON ALL TABLES IN SCHEMA paysql FROM "analyst ro";' in lines  # no table of paysql's own
    assert any(line.startswith("GRANT EXECUTE ON FUNCTION paysql.audit_write(jsonb), ") for line in lines)
    assert 'GRANT EXECUTE ON FUNCTION paysql.key_lookup(text) TO "analyst ro";' in lines
    assert 'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "analyst ro";' in lines
    assert any(line.startswith("REVOKE EXECUTE ON FUNCTION pg_terminate_backend") for line in lines)
    assert "ALTER ROLE \"analyst ro\" SET temp_file_limit = '1GB';" in lines  # the test admin is a superuser
    assert "ALTER ROLE \"analyst ro\" SET work_mem = '16MB';" in lines
    assert not any("query_audit_log" in line or "DELETE" in line for line in lines)


def test_by_default_every_table_of_public_but_paysqls_own_is_granted(admin_url, capsys):
    lines = _grant(capsys, "--role", "analyst", "--database-url", admin_url)
    relations = '"public"."customers", "public"."mcc_codes", "public"."merchants", "public"."transactions"'
    assert f'GRANT SELECT ON {relations} TO "analyst";' in lines
    assert lines[-1] == "-- dry run: role analyst would SELECT 4 relations in schema public (4); add --apply to run it"
    assert not any("paysql_api" in line or "paysql_meta" in line for line in lines)  # API keys, demo metadata
    assert not any(line.startswith("GRANT SELECT") and "paysql." in line for line in lines)


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
        "UPDATE paysql.query_audit_log SET status = 'ok'",
        "DELETE FROM paysql.query_audit_log",
        "SELECT question FROM paysql.query_audit_log",
        "SELECT * FROM paysql.call_starts",
        "SELECT * FROM paysql.query_cache",
        "CREATE TABLE public.evil (id int)",
        "CREATE TABLE paysql.evil (id int)",
    ],
)
def test_an_applied_role_reads_and_appends_but_changes_nothing(applied_role, admin_engine, statement):
    with applied_role.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM merchants")).scalar_one() == 300
        assert conn.execute(text("SELECT session_user")).scalar_one() == ROLE
    with applied_role.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(statement))
    assert audit.write(applied_role, audit.AuditRecord(source="api", status="ok", user_name=ROLE))
    with admin_engine.connect() as conn:
        sql = "SELECT db_user FROM paysql.query_audit_log WHERE user_name = :u ORDER BY id DESC LIMIT 1"
        assert conn.execute(text(sql), {"u": ROLE}).scalar_one() == ROLE


# --- a company database: a schema of its own, views, a partitioned table, names that need quoting ---------------

COMPANY_DB = "paysql_grants_company_test"
ODD = '"Odd ""Schema"".x"."Mixed, Case"'  # a schema with a quote and a dot, a table with a comma and capitals
COMPANY_DDL = f"""
CREATE SCHEMA acquiring;
CREATE TABLE acquiring.payments (id int PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO acquiring.payments VALUES (1, 10), (2, 20), (3, 30);
CREATE VIEW acquiring.big_payments AS SELECT * FROM acquiring.payments WHERE amount > 15;
CREATE MATERIALIZED VIEW acquiring.payment_totals AS SELECT count(*) AS n, sum(amount) AS total FROM acquiring.payments;
CREATE TABLE acquiring.settlements (id int, settled_on date NOT NULL) PARTITION BY RANGE (settled_on);
CREATE TABLE acquiring.settlements_2024 PARTITION OF acquiring.settlements
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE acquiring.settlements_2025 PARTITION OF acquiring.settlements
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO acquiring.settlements VALUES (1, '2024-05-01'), (2, '2025-05-01');
CREATE SEQUENCE acquiring.payment_ids;
CREATE SCHEMA "Odd ""Schema"".x";
CREATE TABLE {ODD} (id int);
INSERT INTO {ODD} VALUES (7);
CREATE TABLE public.merchants (id int);
"""
ODD_ROLE = 'paysql "acq" o\'$$dd'  # a quote, a double quote and the dollar quote of the DO block
COMPANY_ROLES = ("paysql_acq_one", "paysql acq all", ODD_ROLE, "paysql_acq_dry", "paysql_acq_failed")


@pytest.fixture(scope="module")
def company_url(admin_url: str) -> Iterator[str]:
    url = fresh_database(admin_url, COMPANY_DB)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(COMPANY_DDL)
    engine.dispose()
    yield url
    drop_database(admin_url, COMPANY_DB, COMPANY_ROLES)


@contextmanager
def _as(url: str, role: str) -> Iterator[Connection]:
    engine = create_engine(with_user(url, role))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT session_user")).scalar_one() == role
            yield conn
    finally:
        engine.dispose()


def _denied(url: str, role: str, statement: str) -> None:
    with _as(url, role) as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(statement))


def test_one_table_of_a_company_schema(company_url, capsys):
    role = "paysql_acq_one"
    lines = _grant(capsys, "--role", role, "--database-url", company_url, "--tables", "acquiring.payments", "--apply")
    assert f'GRANT USAGE ON SCHEMA "acquiring" TO "{role}";' in lines
    assert f'GRANT SELECT ON "acquiring"."payments" TO "{role}";' in lines
    assert lines[-1] == (
        f"-- applied to {COMPANY_DB}: role {role} may SELECT 1 relation in schema acquiring (1) (USAGE on their "
        "schemas), use paysql's audit log, cache and examples through its functions only, temp files at most 1GB a "
        "query, work_mem 16MB: read-only"
    )
    with _as(company_url, role) as conn:
        assert conn.execute(text("SELECT count(*) FROM acquiring.payments")).scalar_one() == 3
    _denied(company_url, role, "SELECT * FROM acquiring.big_payments")  # not asked for: not granted
    _denied(company_url, role, "UPDATE acquiring.payments SET amount = 0")
    _denied(company_url, role, "CREATE TABLE acquiring.evil (id int)")
    _denied(company_url, role, "CREATE TABLE public.evil (id int)")
    _denied(company_url, role, "CREATE SCHEMA evil")


def test_every_relation_of_every_schema_without_tables(company_url, capsys):
    role = "paysql acq all"
    lines = _grant(capsys, "--role", role, "--database-url", company_url, "--apply")
    r = '"paysql acq all"'
    assert f'GRANT USAGE ON SCHEMA "acquiring" TO {r};' in lines
    assert f'GRANT USAGE ON SCHEMA "Odd ""Schema"".x" TO {r};' in lines
    relations = (
        f'{ODD}, "acquiring"."big_payments", "acquiring"."payment_totals", "acquiring"."payments", '
        '"acquiring"."settlements", "public"."merchants"'
    )
    assert f"GRANT SELECT ON {relations} TO {r};" in lines  # no partition, no sequence, none of paysql's own
    assert lines[-1].startswith(
        f'-- applied to {COMPANY_DB}: role {role} may SELECT 6 relations in schemas Odd "Schema".x (1), acquiring (4), '
        "public (1) (USAGE on their schemas)"
    )
    assert lines[-1].endswith(": read-only")
    with _as(company_url, role) as conn:
        assert conn.execute(text("SELECT count(*) FROM acquiring.payments")).scalar_one() == 3
        assert conn.execute(text("SELECT count(*) FROM acquiring.big_payments")).scalar_one() == 2
        assert conn.execute(text("SELECT total FROM acquiring.payment_totals")).scalar_one() == 60
        assert conn.execute(text("SELECT count(*) FROM acquiring.settlements")).scalar_one() == 2  # both partitions
        assert conn.execute(text(f"SELECT id FROM {ODD}")).scalar_one() == 7
        assert conn.execute(text("SELECT count(*) FROM merchants")).scalar_one() == 0
    _denied(company_url, role, "SELECT * FROM acquiring.settlements_2024")  # a partition is read through its parent
    _denied(company_url, role, "DELETE FROM acquiring.payments")
    _denied(company_url, role, "CREATE TABLE acquiring.evil (id int)")
    _denied(company_url, role, 'CREATE TABLE "Odd ""Schema"".x".evil (id int)')
    engine = create_engine(with_user(company_url, role))
    try:  # paysql's own tables, granted separately, work for the role
        assert audit.write(engine, audit.AuditRecord(source="api", status="ok", user_name="acq"))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("tables", "granted"),
    [
        (ODD, ODD),
        ("ACQUIRING.Payments", '"acquiring"."payments"'),  # unquoted names fold to lower case, as in SQL
        ("merchants", '"public"."merchants"'),  # a bare name: found on the search path
        ("acquiring.payments, acquiring.big_payments", '"acquiring"."payments", "acquiring"."big_payments"'),
    ],
)
def test_names_are_resolved_and_quoted(company_url, capsys, tables, granted):
    lines = _grant(capsys, "--role", ODD_ROLE, "--database-url", company_url, "--tables", tables)
    assert f"GRANT SELECT ON {granted} TO {grants.quote_ident(ODD_ROLE)};" in lines


def test_a_quoted_schema_and_table_are_granted(company_url, capsys):
    role = ODD_ROLE
    _grant(capsys, "--role", role, "--database-url", company_url, "--tables", ODD, "--apply")
    with _as(company_url, role) as conn:
        assert conn.execute(text(f"SELECT id FROM {ODD}")).scalar_one() == 7


def test_a_dry_run_grants_nothing(company_url, admin_engine, capsys):
    lines = _grant(capsys, "--role", "paysql_acq_dry", "--database-url", company_url, "--tables", "acquiring.payments")
    assert (
        lines[-1]
        == "-- dry run: role paysql_acq_dry would SELECT 1 relation in schema acquiring (1); add --apply to run it"
    )
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = 'paysql_acq_dry'")).scalar_one() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tables", "acquiring.paymentz"], "no table acquiring.paymentz"),
        (["--tables", "acquiring.payments,nosuch"], "no table nosuch"),
        (["--tables", "nosuch.payments"], "no schema nosuch"),
        (["--tables", "acquiring.payment_ids"], "acquiring.payment_ids is not a table or view"),
        (["--tables", 'acquiring."payments'], 'not a table name: acquiring."payments'),
        (["--role", "pg_monitor"], "role pg_monitor is reserved by PostgreSQL"),
        (["--role", "public"], "role public is reserved by PostgreSQL"),
        (["--role", "postgres"], "role postgres is the one running the grants: name the analysts' role, not the admin"),
    ],
)
def test_what_cannot_be_granted_fails_in_one_line(company_url, admin_engine, capsys, args, message):
    role = ["--role", "paysql_acq_failed"] if "--role" not in args else []
    if "postgres" in args:
        args = ["--role", make_url(company_url).username]
    assert cli.main(["grant-readonly", *role, "--database-url", company_url, *args, "--apply"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"paysql: grant-readonly: {message}\n"
    with admin_engine.connect() as conn:  # nothing applied
        assert conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = 'paysql_acq_failed'")).scalar_one() == 0


def test_the_paysql_command_fails_without_a_traceback(company_url):
    command = [sys.executable, "-m", "paysql_magic.cli", "grant-readonly", "--role", "paysql_acq_failed"]
    done = subprocess.run(
        [*command, "--database-url", company_url, "--tables", "acquiring.paymentz"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr == "paysql: grant-readonly: no table acquiring.paymentz\n"
    assert done.stdout == ""


def test_a_role_the_server_refuses_fails_in_one_line(company_url, capsys):
    """An admin without the privilege to grant: the server's own line, exit 2, nothing applied."""
    weak = "paysql_acq_failed"
    engine = create_engine(company_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE ROLE {weak} LOGIN"))
    engine.dispose()
    try:
        url = with_user(company_url, weak)
        assert cli.main(["grant-readonly", "--role", "paysql_acq_dry", "--database-url", url, "--apply"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("paysql: grant-readonly: ") and err.count("\n") == 1
        assert "permission denied" in err or "must be" in err
    finally:
        engine = create_engine(company_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"DROP ROLE {weak}"))
        engine.dispose()


# --- a role without CREATE: the answer, and one line naming the fix ---------------------------------------------

NO_CREATE_ROLE = "paysql_no_create"
_databases = itertools.count()


@pytest.fixture(params=["cannot create", "cannot write"])
def no_create_engine(request, admin_url: str, monkeypatch) -> Iterator[Engine]:
    """A role that may read ``payments`` of a fresh database and nothing else: paysql's own tables are missing (it
    cannot create them) or there but not granted (it cannot write them)."""
    monkeypatch.delenv("PAYSQL_AUDIT_URL", raising=False)
    name = f"paysql_no_create_{next(_databases)}_test"  # a new store database: its line not shown yet
    url = fresh_database(admin_url, name)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"DROP ROLE IF EXISTS {NO_CREATE_ROLE}; CREATE ROLE {NO_CREATE_ROLE} LOGIN; "
            f"ALTER ROLE {NO_CREATE_ROLE} SET temp_file_limit = '1GB'; "
            f"REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE CREATE, TEMPORARY ON DATABASE {name} FROM PUBLIC; "
            "CREATE TABLE payments (id int); INSERT INTO payments VALUES (1), (2); "
            f"GRANT SELECT ON payments TO {NO_CREATE_ROLE}"
        )
        if request.param == "cannot write":
            grants.ensure_own_tables(conn)
    engine.dispose()
    reader = create_engine(with_user(url, NO_CREATE_ROLE))
    yield reader
    reader.dispose()
    drop_database(admin_url, name, (NO_CREATE_ROLE,))


def _paysql_lines(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if str(w.message).startswith("paysql:")]


def test_a_role_without_create_gets_its_answer_and_one_line_naming_the_fix(no_create_engine, tmp_path, monkeypatch):
    fallback = tmp_path / "fallback.jsonl"
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(fallback))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [core.run_sql("SELECT count(*) AS n FROM payments", no_create_engine) for _ in range(2)]
    assert [int(result.frame["n"].iloc[0]) for result in results] == [2, 2]
    [line] = _paysql_lines(caught)  # once per process, not per call
    assert line == privileges.fix_line(no_create_engine)
    assert "\n" not in line
    assert f"paysql grant-readonly --database-url ADMIN_URL --role {NO_CREATE_ROLE} --apply" in line
    assert "PAYSQL_AUDIT_URL" in line and str(fallback) in line
    kept = [json.loads(row)["call_id"] for row in fallback.read_text().splitlines()]
    assert kept == [result.call_id for result in results]  # every audit row kept in the fallback file


def test_the_cache_of_a_role_without_create_warns_the_same_single_line(no_create_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(tmp_path / "fallback.jsonl"))
    provider = ScriptedProvider("SELECT count(*) AS n FROM payments")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            assert int(core.ask("how many payments", no_create_engine, provider=provider).frame["n"].iloc[0]) == 2
    assert _paysql_lines(caught) == [privileges.fix_line(no_create_engine)]
    assert len(provider.prompts) == 2  # nothing was cached


def test_other_audit_failures_keep_their_warning(reader_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(tmp_path / "fallback.jsonl"))
    settings = Settings(audit_url="postgresql://nobody:pw@127.0.0.1:1/none")
    with pytest.warns(UserWarning, match="audit row not written") as caught:
        core.run_sql("SELECT 1 AS one", reader_engine, settings)
    assert not any("grant-readonly" in str(w.message) for w in caught)


def test_a_missing_privilege_is_told_from_other_errors():
    denied = ProgrammingError("INSERT ...", {}, Exception('permission denied for table "query_audit_log"'))
    assert privileges.is_denied(denied)
    assert not privileges.is_denied(OperationalError("SELECT 1", {}, Exception("connection refused")))


# --- the auditor: every caller's audit rows, nothing else ---------------------------------------------------------

AUDITOR = "paysql_test_auditor"
BRIEF_MONITORING = (  # the brief's dashboard queries, as written there
    "SELECT question, COUNT(*) as count FROM query_audit_log GROUP BY question ORDER BY count DESC LIMIT 10",
    "SELECT AVG(execution_time_ms) as avg_time FROM query_audit_log WHERE success = true",
    "SELECT COUNT(*) FILTER (WHERE success) * 100.0 / COUNT(*) as success_rate FROM query_audit_log",
)


@pytest.fixture
def auditor(admin_url, admin_engine, capsys) -> Iterator[Engine]:
    lines = _grant(capsys, "--auditor", AUDITOR, "--database-url", admin_url, "--apply")
    assert f'GRANT SELECT ON paysql.query_audit_log, paysql.call_starts, paysql.audit_head TO "{AUDITOR}";' in lines
    assert lines[-1].startswith(f"-- applied: auditor {AUDITOR} may read paysql.query_audit_log, paysql.call_starts")
    engine = create_engine(with_user(admin_url, AUDITOR))
    yield engine
    engine.dispose()
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {AUDITOR}; DROP ROLE {AUDITOR}"))


def test_an_auditor_reads_every_callers_calls_and_changes_nothing(auditor, reader_engine, admin_url, capsys):
    from paysql_magic import monitor

    secret = f"a question of the reader's own {uuid.uuid4().hex[:8]}"
    core.run_sql("SELECT 1 AS one", reader_engine, question=secret, remember=False)
    assert _seen(reader_engine, secret, "'someone else'") == 0  # another API caller of the same role
    assert _seen(reader_engine, secret) == 1  # the reader's own role
    assert _seen(auditor, secret) == 1  # every caller's, for the auditor
    assert set(monitor.figures(auditor)) >= {monitor.TOP_QUESTIONS, monitor.UNFINISHED}
    with auditor.connect() as conn:
        for sql in BRIEF_MONITORING:  # unqualified: paysql is on the auditor's search path
            assert conn.execute(text(sql)).first() is not None
    for statement in (
        "DELETE FROM paysql.query_audit_log",
        "UPDATE paysql.audit_head SET rows = 0",
        "SELECT * FROM merchants",
        "SELECT * FROM paysql.query_cache",
        "SELECT paysql.audit_write('{}')",
    ):
        with auditor.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement))
    url = auditor.url.render_as_string(hide_password=False)
    assert cli.main(["audit", "verify", "--database-url", url]) == 0
    assert capsys.readouterr().out.startswith("audit log intact: ")


def _seen(engine: Engine, question: str, caller: str = "NULL") -> int:
    with engine.connect() as conn:
        sql = f"SELECT count(*) FROM paysql.audit_calls({caller}) WHERE question = :q"
        return conn.execute(text(sql), {"q": question}).scalar_one()


def test_a_store_schema_of_another_name(admin_url, tmp_path):
    """``PAYSQL_STORE_SCHEMA`` names paysql's own schema; the code reads it once, so this runs in a new process."""
    name = "paysql_other_store_test"
    url = fresh_database(admin_url, name)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {NO_CREATE_ROLE}; CREATE TABLE payments (id int)")
    env = {**os.environ, "PAYSQL_STORE_SCHEMA": "acme_paysql", "PAYSQL_AUDIT_FALLBACK": str(tmp_path / "f.jsonl")}
    command = [sys.executable, "-m", "paysql_magic.cli", "grant-readonly", "--role", NO_CREATE_ROLE, "--apply"]
    done = subprocess.run([*command, "--database-url", url], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "GRANT EXECUTE ON FUNCTION acme_paysql.audit_write(jsonb)" in done.stdout
    ask = (
        "import sys; from paysql_magic import core; from paysql_magic.connection import engine_for; "
        "core.run_sql('SELECT count(*) AS n FROM payments', engine_for(sys.argv[1]))"
    )
    done = subprocess.run([sys.executable, "-c", ask, with_user(url, NO_CREATE_ROLE)], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM acme_paysql.query_audit_log")).scalar_one() == 1
        assert conn.execute(text("SELECT to_regnamespace('paysql')")).scalar() is None
    engine.dispose()
    drop_database(admin_url, name, (NO_CREATE_ROLE,))
