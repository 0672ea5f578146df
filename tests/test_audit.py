"""The audit log: one row per call, whatever happens, written through its own connection."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from paysql_magic import audit, core
from paysql_magic.connection import engine_for
from paysql_magic.errors import QueryTimeout, SqlRefused
from paysql_magic.providers.scripted import ScriptedProvider
from paysql_magic.settings import Settings, env_audit_fallback


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM paysql.query_audit_log")).scalar_one()


def _last(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).mappings().one()


def test_scripted_provider_reply_is_guarded_executed_and_audited(reader_engine, admin_engine):
    provider = ScriptedProvider("Here you go:\n```sql\nSELECT count(*) AS n FROM merchants\n```", model="m1")
    before = _count(admin_engine)
    result = core.ask("how many merchants?", reader_engine, Settings(user_name="analyst1"), provider=provider)
    assert int(result.frame["n"].iloc[0]) == 300
    assert "{" not in provider.prompts[0].text.split("Schema:")[0]  # the prompt text is rendered
    assert "CREATE TABLE merchants" in provider.prompts[0].text
    assert _count(admin_engine) == before + 1
    row = _last(admin_engine)
    assert (row["provider"], row["model"], row["user_name"]) == ("scripted", "m1", "analyst1")
    assert row["generated_sql"].startswith("Here you go")
    assert "LIMIT" not in row["executed_sql"]  # COUNT(*) returns one row: no row cap added
    assert set(result.timings_ms) >= {"schema", "llm", "guard", "execute", "audit", "total"}


def test_refused_sql_is_audited_as_refused(reader_engine, admin_engine):
    provider = ScriptedProvider("DELETE FROM transactions")
    with pytest.raises(SqlRefused):
        core.ask("delete everything", reader_engine, provider=provider)
    row = _last(admin_engine)
    assert (row["status"], row["success"]) == ("refused", False)
    assert row["executed_sql"] is None
    assert "DELETE" in row["generated_sql"]


def test_timeout_is_audited_as_error(reader_engine, admin_engine):
    provider = ScriptedProvider("SELECT count(*) FROM transactions a, transactions b")
    with pytest.raises(QueryTimeout):
        core.ask("a slow one", reader_engine, Settings(timeout_s=0.3), provider=provider)
    row = _last(admin_engine)
    assert row["status"] == "error"
    assert "timeout" in row["error"]


def test_failed_audit_write_warns_and_keeps_the_answer(reader_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(tmp_path / "fallback.jsonl"))
    settings = Settings(audit_url="postgresql://nobody:pw@127.0.0.1:1/none")
    with pytest.warns(UserWarning, match="audit row not written"):
        result = core.run_sql("SELECT 1 AS one", reader_engine, settings)
    assert int(result.frame["one"].iloc[0]) == 1


def test_reader_can_insert_but_not_rewrite_the_audit_log(reader_engine):
    with reader_engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text("UPDATE paysql.query_audit_log SET status = 'ok'"))
    with reader_engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text("DELETE FROM paysql.query_audit_log"))


def test_a_remote_provider_call_is_wrapped_in_the_progress_line(reader_engine):
    labels: list[str] = []

    @contextmanager
    def progress(label: str):
        labels.append(label)
        yield

    remote = ScriptedProvider("SELECT 1 AS one", model="m-remote")
    remote.remote = True
    core.ask("one, from far away", reader_engine, provider=remote, progress=progress)
    core.ask("one, from here", reader_engine, provider=ScriptedProvider("SELECT 1 AS one"), progress=progress)
    assert labels == ["asking scripted/m-remote"]  # a local provider answers at once: no progress line


def test_each_row_is_chained_to_the_previous_one_by_the_server(reader_engine, admin_engine):
    core.run_sql("SELECT 1 AS one", reader_engine)
    core.run_sql("SELECT 2 AS two", reader_engine)
    with admin_engine.connect() as conn:
        recomputed = "paysql.audit_hash(q) AS recomputed"
        sql = f"SELECT prev_hash, row_hash, {recomputed} FROM paysql.query_audit_log q ORDER BY id DESC"
        last, previous = conn.execute(text(sql + " LIMIT 2")).all()
    assert last.prev_hash == previous.row_hash
    assert last.row_hash == last.recomputed and len(last.row_hash) == 64


def test_the_fallback_file_is_reimported_once(reader_engine, admin_engine, tmp_path, monkeypatch):
    path = tmp_path / "fallback.jsonl"
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(path))
    record = audit.AuditRecord(source="api", status="ok", question="kept while the audit database was down")
    with pytest.warns(UserWarning, match=f"kept in memory and in {path}"):
        assert not audit.write(engine_for("postgresql://nobody:pw@127.0.0.1:1/fallback"), record)
    assert audit.import_fallback(reader_engine) == audit.ImportResult(found=1, written=1, present=0)
    assert audit.import_fallback(reader_engine) == audit.ImportResult(found=1, written=0, present=1)
    with admin_engine.connect() as conn:
        sql = "SELECT count(*) FROM paysql.query_audit_log WHERE call_id = :c"
        assert conn.execute(text(sql), {"c": record.call_id}).scalar_one() == 1


def test_the_fallback_file_defaults_to_the_user_data_dir(monkeypatch):
    monkeypatch.delenv("PAYSQL_AUDIT_FALLBACK", raising=False)
    assert env_audit_fallback().name == "audit-fallback.jsonl"
    assert "paysql-magic" in str(env_audit_fallback())
