"""The audit log survives any input and any reader: text PostgreSQL cannot hold is stored losslessly, one bad row
never blocks another, every failure lands in the fallback file, the import goes row by row; the reader's session
defaults, a held advisory lock or a held chain lock neither stop nor stall the audit for long; the server sets who
and when; deleting the newest rows shows; a call that never finished shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import fresh_database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from paysql_magic import audit, cli, core, monitor, store
from paysql_magic.connection import engine_for
from paysql_magic.demo.dataset import with_user
from paysql_magic.settings import Settings

UNREACHABLE = "postgresql://nobody:pw@127.0.0.1:1/down"
HOSTILE_TEXTS = [
    "Сколько транзакций было сегодня?\x00",
    "\x00",
    "a\ud800b",  # a lone surrogate (JSON "\ud800")
    "\udfff\ud83d",  # lone surrogates, the wrong way round
    "\ud83d\ude00",  # a surrogate pair as two code points (not one emoji)
    "\\u0000 and \\\\ and \\",  # text that looks escaped already
    "😀 emoji, Ünïcödé, 中文, \t\r\n",
]


@pytest.fixture(autouse=True)
def fallback_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "audit-fallback.jsonl"
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(path))
    return path


def _stored_row(admin_engine: Engine, call_id: str) -> dict:
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM paysql.query_audit_log WHERE call_id = :c"), {"c": call_id}).mappings()
        return audit.decoded(row.one())


def _count(admin_engine: Engine, **where: str) -> int:
    clause = " AND ".join(f"{name} = :{name}" for name in where) or "true"
    with admin_engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM paysql.query_audit_log WHERE {clause}"), where).scalar_one()


@pytest.mark.parametrize("value", HOSTILE_TEXTS)
def test_any_text_is_stored_losslessly(value, reader_engine, admin_engine, fallback_file):
    record = audit.AuditRecord(source="api", status="ok", question=value, generated_sql=value, user_name=value)
    assert audit.write(reader_engine, record)
    row = _stored_row(admin_engine, record.call_id)
    assert (row["question"], row["generated_sql"], row["user_name"]) == (value, value, value)
    assert not fallback_file.exists()


def test_one_hostile_row_then_three_ordinary_ones_are_four_rows(reader_engine, admin_engine):
    """The break of the issue: a NUL made the row fail, and the failed row, resent with every later row, failed
    them all. Then a row the database refuses for good (a status it does not know) is kept in the file only."""
    caller = f"ordinary-{uuid.uuid4().hex[:8]}"
    assert audit.write(reader_engine, audit.AuditRecord(source="api", status="ok", question="x\x00", user_name="evil"))
    for i in range(3):
        assert audit.write(
            reader_engine, audit.AuditRecord(source="api", status="ok", question=f"q{i}", user_name=caller)
        )
    assert _count(admin_engine, user_name=caller) == 3
    with pytest.warns(UserWarning, match="audit row not written.*not retried"):
        assert not audit.write(reader_engine, audit.AuditRecord(source="api", status="no such status"))
    assert audit.pending(reader_engine) == []  # refused for good: not resent with the next rows
    assert audit.write(reader_engine, audit.AuditRecord(source="api", status="ok", user_name=caller))
    assert _count(admin_engine, user_name=caller) == 4


def test_each_queued_row_is_retried_on_its_own(reader_engine, admin_engine, monkeypatch):
    """Rows queued while the database was away: one the database now refuses does not stop the others."""
    caller = f"queued-{uuid.uuid4().hex[:8]}"
    good = [audit.AuditRecord(source="api", status="ok", user_name=caller) for _ in range(2)]
    bad = audit.AuditRecord(source="api", status="ok", call_id="not-a-uuid")
    monkeypatch.setitem(audit._pending, audit._key(reader_engine), [good[0], bad, good[1]])
    assert audit.write(reader_engine, audit.AuditRecord(source="api", status="ok", user_name=caller))
    assert _count(admin_engine, user_name=caller) == 3
    assert audit.pending(reader_engine) == []


def test_a_surrogate_row_lands_in_the_fallback_file_and_is_imported(reader_engine, admin_engine, fallback_file):
    record = audit.AuditRecord(source="api", status="error", question="a\ud800\x00b", error="e\udc80")
    with pytest.warns(UserWarning, match=f"kept in memory and in {fallback_file}"):
        assert not audit.write(engine_for(UNREACHABLE), record)
    line = fallback_file.read_text(encoding="utf-8")  # valid UTF-8 JSON
    assert json.loads(line)["escaped"] == ["question", "error"]
    assert audit.import_fallback(reader_engine) == audit.ImportResult(found=1, written=1, present=0)
    row = _stored_row(admin_engine, record.call_id)
    assert (row["question"], row["error"]) == (record.question, record.error)


def test_the_import_goes_row_by_row_and_reports_what_it_could_not_import(reader_engine, fallback_file, capsys):
    rows = [
        audit.stored(audit.AuditRecord(source="api", status="ok", question="first")),
        "this is not JSON",
        audit.stored(audit.AuditRecord(source="api", status="no such status")),
        audit.stored(audit.AuditRecord(source="api", status="ok", question="nul \x00 and \ud800")),
        ["a", "list"],
        {**audit.stored(audit.AuditRecord(source="api", status="ok")), "added_by_a_later_version": 1},
    ]
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    fallback_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["audit", "import", "--database-url", reader_engine.url.render_as_string(False)]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "audit fallback: 6 rows in the file, 3 written, 0 already in the log, 3 not imported"
    failed = err.strip().splitlines()
    assert [line.split(":")[2].strip().split(" ")[0:2] for line in failed] == [
        ["line", "2"],
        ["line", "3"],
        ["line", "5"],
    ]
    assert cli.main(["audit", "import", "--database-url", reader_engine.url.render_as_string(False)]) == 1
    assert capsys.readouterr().out.startswith("audit fallback: 6 rows in the file, 0 written, 3 already in the log")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    question=st.text(st.characters(exclude_categories=()), max_size=40),
    user=st.text(st.characters(exclude_categories=()), max_size=12),
    sql=st.one_of(st.none(), st.text(st.characters(exclude_categories=()), max_size=40)),
)
def test_fuzz_the_audit_writer_with_arbitrary_unicode(question, user, sql, reader_engine, admin_engine):
    """Any text, surrogates and NUL included, is written, read back as given, and the chain holds."""
    record = audit.AuditRecord(source="ask", status="ok", question=question, user_name=user, generated_sql=sql)
    assert audit.write(reader_engine, record)
    row = _stored_row(admin_engine, record.call_id)
    assert (row["question"], row["user_name"], row["generated_sql"]) == (question, user, sql)


def test_the_chain_holds_after_the_fuzz(admin_engine):
    check = audit.verify_chain(admin_engine)
    assert check.broken is None and check.rows > 60


# --- the reader's own session defaults and locks -----------------------------------------------------------------

ROLE = "paysql_hostile_reader"


@pytest.fixture(scope="module")
def hostile_role(admin_url: str, admin_engine: Engine) -> Iterator[Engine]:
    """A role made by grant-readonly that then sets its own defaults against the audit, as any role may."""
    assert cli.main(["grant-readonly", "--role", ROLE, "--database-url", admin_url, "--apply"]) == 0
    url = with_user(admin_url, ROLE)
    engine = create_engine(url)
    with engine.connect() as conn:
        for setting in (
            "default_transaction_read_only = on",
            "statement_timeout = 25",  # ms: shorter than a write that waits for the chain under load
            "lock_timeout = 1",
            "client_encoding = 'LATIN1'",
            "extra_float_digits = -15",
            "default_transaction_isolation = 'serializable'",
            "search_path = nowhere",
            "synchronous_commit = off",
        ):
            conn.exec_driver_sql(f"ALTER ROLE {ROLE} SET {setting}")  # its own role: no privilege needed
        conn.commit()
    engine.dispose()
    engine = create_engine(url)
    yield engine
    engine.dispose()
    with admin_engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER ROLE {ROLE} RESET ALL; DROP OWNED BY {ROLE}; DROP ROLE {ROLE}")


def test_the_readers_session_defaults_do_not_stop_the_audit(hostile_role, admin_engine):
    with admin_engine.connect() as conn:
        defaults = conn.execute(
            text("SELECT setconfig FROM pg_db_role_setting WHERE setrole = CAST(:r AS regrole)"), {"r": ROLE}
        ).scalar_one()
    assert "default_transaction_read_only=on" in defaults and "client_encoding=LATIN1" in defaults
    record = audit.AuditRecord(source="ask", status="ok", question="Сколько транзакций?", llm_time_ms=0.1 + 0.2)
    assert audit.write(hostile_role, record)
    row = _stored_row(admin_engine, record.call_id)
    assert (row["question"], row["db_user"], row["llm_time_ms"]) == ("Сколько транзакций?", ROLE, 0.1 + 0.2)
    assert audit.verify_chain(admin_engine).broken is None  # its extra_float_digits did not change the hash


def test_a_held_advisory_lock_stalls_nothing(reader_url, reader_engine, admin_engine):
    """The old chain's lock, which any role can hold, is not the chain's lock any more."""
    holder = create_engine(reader_url)
    with holder.connect() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('paysql-magic audit chain'))"))
        start = time.perf_counter()
        assert audit.write(reader_engine, audit.AuditRecord(source="api", status="ok"))
        assert time.perf_counter() - start < 1
        conn.rollback()
    holder.dispose()


def test_the_chain_lock_cannot_be_taken_and_a_held_one_costs_at_most_the_lock_timeout(
    reader_url, reader_engine, admin_engine
):
    holder = create_engine(reader_url)
    with holder.connect() as conn:
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(text("SELECT * FROM paysql.audit_head FOR UPDATE"))
        conn.rollback()
        # the one way a reader holds it: an audit row of its own it never commits
        held = audit.stored(audit.AuditRecord(source="api", status="ok"))
        conn.execute(text("SELECT paysql.audit_write(CAST(:r AS jsonb))"), {"r": json.dumps(held)})
        waiting = audit.AuditRecord(source="api", status="ok", question="while the lock was held")
        start = time.perf_counter()
        with pytest.warns(UserWarning, match="audit row not written: .*lock.*kept in memory and in"):
            assert not audit.write(reader_engine, waiting)
        waited = time.perf_counter() - start
        assert store.LOCK_TIMEOUT_MS / 1000 - 0.1 < waited < store.LOCK_TIMEOUT_MS / 1000 + 1.5
        conn.rollback()  # the lock is gone
    holder.dispose()
    assert audit.write(reader_engine, audit.AuditRecord(source="api", status="ok"))  # and the kept row with it
    assert _count(admin_engine, call_id=waiting.call_id) == 1
    assert audit.pending(reader_engine) == []


def test_who_and_when_are_set_by_the_server(admin_engine):
    """Even the owner inserting straight into the table cannot choose created_at, db_user or the chain."""
    call_id = str(uuid.uuid4())
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO paysql.query_audit_log (call_id, source, status, success, created_at, db_user, prev_hash, "
                "row_hash) OVERRIDING SYSTEM VALUE VALUES (:c, 'api', 'ok', true, '2001-01-01', 'nobody', 'x', 'y')"
            ),
            {"c": call_id},
        )
    row = _stored_row(admin_engine, call_id)
    assert row["db_user"] == make_url(admin_engine.url).username
    assert row["created_at"].year > 2001 and row["row_hash"] != "y" and row["prev_hash"] != "x"
    assert audit.verify_chain(admin_engine).broken is None


# --- the end of the chain -----------------------------------------------------------------------------------------

CHAIN_DB = "paysql_audit_end_test"


@pytest.fixture
def chain_url(admin_url: str) -> str:
    url = fresh_database(admin_url, CHAIN_DB)
    with engine_for(url).begin() as conn:
        audit.ensure_table(conn)
    return url


def _verify(capsys, url: str, *args: str) -> tuple[int, str]:
    code = cli.main(["audit", "verify", "--database-url", url, *args])
    return code, capsys.readouterr().out.strip()


def test_deleting_the_newest_rows_shows_and_an_anchor_shows_a_rewritten_head(chain_url, tmp_path, capsys):
    engine = engine_for(chain_url)
    for i in range(5):
        assert audit.write(engine, audit.AuditRecord(source="api", status="ok", question=f"q{i}"))
    anchor = tmp_path / "anchor.json"
    assert cli.main(["audit", "anchor", "--database-url", chain_url, "--output", str(anchor)]) == 0
    capsys.readouterr()
    kept = json.loads(anchor.read_text())
    assert kept["rows"] == 5 and len(kept["last_hash"]) == 64
    assert _verify(capsys, chain_url, "--anchor", str(anchor)) == (
        0,
        f"audit log intact: 5 rows, matching the anchor of 5 rows up to id {kept['last_id']}",
    )

    with engine.begin() as conn:  # the newest two rows go: the links of the others still match
        conn.execute(text("DELETE FROM paysql.query_audit_log WHERE id IN (SELECT id FROM paysql.query_audit_log "
                          "ORDER BY id DESC LIMIT 2)"))  # fmt: skip
    code, out = _verify(capsys, chain_url)
    assert code == 1
    assert out.startswith("audit log broken at the end: the newest rows were deleted (the head records 5 rows")

    with engine.begin() as conn:  # someone who may also rewrite the head: only the anchor kept elsewhere shows it
        conn.execute(text(
            "UPDATE paysql.audit_head SET rows = 3, (last_id, last_hash) = (SELECT id, row_hash FROM "
            "paysql.query_audit_log ORDER BY id DESC LIMIT 1)"
        ))  # fmt: skip
    assert _verify(capsys, chain_url) == (0, "audit log intact: 3 rows")
    code, out = _verify(capsys, chain_url, "--anchor", str(anchor))
    assert code == 1 and out.startswith(f"audit log broken at the anchor: row id {kept['last_id']} is missing")


SLOW = "SELECT count(*) FROM transactions a, transactions b, transactions c"
_KILLED_CALL = """
import sys
from paysql_magic import core
from paysql_magic.connection import engine_for
from paysql_magic.settings import Settings
core.run_sql(sys.argv[2], engine_for(sys.argv[1]), Settings(user_name=sys.argv[3], timeout_s=4))
"""


def test_a_call_killed_mid_query_is_visible_as_started_and_not_finished(reader_url, reader_engine, admin_url, capsys):
    caller = f"killed-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen([sys.executable, "-c", _KILLED_CALL, reader_url, SLOW, caller], env=os.environ.copy())
    admin = create_engine(admin_url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with admin.connect() as conn:
                started = conn.execute(
                    text("SELECT call_id::text FROM paysql.call_starts WHERE user_name = :u"), {"u": caller}
                ).scalar()
            if started:
                break
            time.sleep(0.1)
        assert started, "the call's start was not written"
        time.sleep(0.5)  # in the query now
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        admin.dispose()
    code, out = _verify(capsys, admin_url)
    assert code == 0 and "started and not finished" in out and started in out
    unfinished = monitor.figures(reader_engine)[monitor.UNFINISHED]  # the reader sees its own calls
    assert started in unfinished["call_id"].tolist()


def test_core_writes_a_start_and_a_row_per_call(reader_engine, admin_engine):
    caller = f"started-{uuid.uuid4().hex[:8]}"
    result = core.run_sql("SELECT 1 AS one", reader_engine, Settings(user_name=caller))
    with admin_engine.connect() as conn:
        starts = conn.execute(
            text("SELECT count(*) FROM paysql.call_starts WHERE call_id = :c AND user_name = :u"),
            {"c": result.call_id, "u": caller},
        ).scalar_one()
    assert starts == 1 and _count(admin_engine, call_id=result.call_id) == 1
    assert result.call_id not in monitor.figures(reader_engine)[monitor.UNFINISHED]["call_id"].tolist()


def test_a_write_from_another_thread_is_not_serialised_behind_a_slow_one(reader_engine):
    """The process lock guards the queue, not the database round trip."""
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(audit.write(reader_engine, audit.AuditRecord("api", "ok"))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert results == [True] * 8
