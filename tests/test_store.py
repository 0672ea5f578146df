"""paysql's own schema: a database of an older version (tables in ``public``, keys in ``paysql_api``) keeps working
for its reader as it is, and an admin moves it into ``paysql`` keeping every id and hash; a reader reaches the
moved tables through paysql's functions only."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import legacy_store
import pytest
from databases import drop_database, fresh_database
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

from paysql_magic import audit, cache, cli, core, examples, store
from paysql_magic.api import keys
from paysql_magic.demo.dataset import with_user
from paysql_magic.schema import introspect

DATABASE = "paysql_legacy_store_test"
READER = "paysql_legacy_reader"
OTHER = "paysql_legacy_other"  # granted by the old version, not named when the admin migrates


@pytest.fixture(scope="module")
def legacy(admin_url: str) -> Iterator[tuple[str, Engine, Engine]]:
    """A database as an older version left it: its admin URL, its reader's engine and another old reader's."""
    url = fresh_database(admin_url, DATABASE)
    admin = create_engine(url)
    with admin.begin() as conn:
        for role in (READER, OTHER):
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql("CREATE TABLE payments (id int, amount numeric); INSERT INTO payments VALUES (1, 10)")
        for statement in legacy_store.STATEMENTS:
            conn.exec_driver_sql(statement)
        for role in (READER, OTHER):
            for statement in legacy_store.reader_grants(role):
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(f"GRANT SELECT ON payments TO {role}")
            conn.exec_driver_sql(f"REVOKE CREATE, TEMPORARY ON DATABASE {DATABASE} FROM PUBLIC, {role}")
            conn.exec_driver_sql(f"ALTER ROLE {role} SET temp_file_limit = '1GB'")
        conn.exec_driver_sql(
            "INSERT INTO paysql_api.api_keys (name, key_hash, key_start) "
            f"VALUES ('old-bot', '{keys.hash_key('psk_old-key')}', 'psk_old-k')"
        )
    admin.dispose()
    reader, other = (create_engine(with_user(url, role)) for role in (READER, OTHER))
    yield url, reader, other
    reader.dispose()
    other.dispose()
    store.forget_all()
    drop_database(admin_url, DATABASE, (READER, OTHER))


def _ids_and_hashes(engine: Engine, table: str) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT id, row_hash FROM {table} ORDER BY id"))]


def test_an_older_database_keeps_working_for_its_reader_as_it_is(legacy, tmp_path, monkeypatch):
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(tmp_path / "fallback.jsonl"))
    url, reader, _ = legacy
    assert store.locate(reader).legacy  # the reader may not move the tables: it uses them where they are
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: every row is written, the cache and examples work
        first = core.run_sql("SELECT count(*) AS n FROM payments", reader, question="how many payments")
        core.run_sql("SELECT 1 AS one", reader)
    assert int(first.frame["n"].iloc[0]) == 1
    cache.store(reader, "old question", "h", "offline", None, "SELECT 1")
    assert cache.lookup(reader, "Old question?", "h", "offline", None) == "SELECT 1"
    assert [e.question for e in examples.load(reader)] == ["how many payments"]  # an edited cell's question
    assert keys.lookup(reader, "psk_old-key").name == "old-bot"
    admin = create_engine(url)
    with admin.connect() as conn:
        rows = conn.execute(text("SELECT db_user FROM public.query_audit_log")).scalars().all()
    admin.dispose()
    assert rows == [READER, READER]
    assert not (tmp_path / "fallback.jsonl").exists()


def test_an_admin_moves_them_into_the_paysql_schema_keeping_ids_and_hashes(legacy, capsys):
    url, reader, other = legacy
    admin = create_engine(url)
    before = _ids_and_hashes(admin, "public.query_audit_log")
    assert cli.main(["grant-readonly", "--role", READER, "--database-url", url, "--apply"]) == 0
    out = capsys.readouterr().out
    for table in ("query_audit_log", "query_cache", "verified_examples"):
        assert f"-- moved public.{table} -> paysql.{table} (paysql's own schema)" in out
    assert "-- moved paysql_api.api_keys -> paysql.api_keys (paysql's own schema)" in out
    assert _ids_and_hashes(admin, "paysql.query_audit_log") == before
    with admin.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname IN ('public', 'paysql_api') AND c.relname <> 'payments' AND c.relkind = 'r'")
        ).scalar_one()  # fmt: skip
        assert left == 0
        assert conn.execute(text("SELECT to_regnamespace('paysql_api')")).scalar() is None
    assert cli.main(["audit", "verify", "--database-url", url]) == 0
    assert capsys.readouterr().out.startswith(f"audit log intact: {len(before)} rows")

    # the reader of the running process: its next write finds the moved table, its cache and keys go on working
    assert audit.write(reader, audit.AuditRecord(source="api", status="ok", question="after the move"))
    assert not store.locate(reader).legacy
    assert cache.lookup(reader, "old question", "h", "offline", None) == "SELECT 1"
    assert keys.lookup(reader, "psk_old-key").name == "old-bot"
    # an old reader nobody named keeps appending (the functions replace its grants), and reads nothing of it
    assert audit.write(other, audit.AuditRecord(source="api", status="ok", question="the other reader"))
    for engine in (reader, other):
        for table in ("paysql.query_audit_log", "paysql.query_cache", "paysql.verified_examples", "paysql.api_keys"):
            with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(f"SELECT * FROM {table}"))
    assert cli.main(["audit", "verify", "--database-url", url]) == 0
    assert capsys.readouterr().out.startswith(f"audit log intact: {len(before) + 2} rows")
    admin.dispose()


def test_introspection_never_shows_paysqls_schema(legacy):
    _, reader, _ = legacy
    schema = introspect(reader, refresh=True)
    assert "paysql" not in schema.schemas and "paysql_api" not in schema.schemas
    assert [table.name for table in schema.tables] == ["payments"]


def test_a_table_from_before_the_chain_is_upgraded(admin_url, capsys):
    name = "paysql_store_prechain_test"
    url = fresh_database(admin_url, name)
    engine = create_engine(url)
    prechain = legacy_store.STATEMENTS[0].replace(",\n        prev_hash text,\n        row_hash text,\n        "
                                                  "parent_call_id uuid", "")  # fmt: skip
    assert "row_hash" not in prechain
    with engine.begin() as conn:
        conn.exec_driver_sql(prechain)
        conn.exec_driver_sql(
            "INSERT INTO public.query_audit_log (call_id, source, status, success) "
            "VALUES (gen_random_uuid(), 'api', 'ok', true)"
        )
        audit.ensure_table(conn)
    assert audit.write(engine, audit.AuditRecord(source="api", status="ok"))
    assert cli.main(["audit", "verify", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == "audit log intact: 1 rows (1 older rows without a hash)"
    engine.dispose()
    drop_database(admin_url, name, ())
