"""Audit integrity: exactly one row per call under every failure, rows kept while the audit database is down,
a hash chain that shows edits and deletions, and concurrent writers that lose nothing."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from databases import fresh_database
from sqlalchemy import text
from sqlalchemy.engine import make_url

from paysql_magic import audit, cli, core
from paysql_magic.connection import engine_for
from paysql_magic.errors import ExecutionError, ProviderError, QueryTimeout, SqlRefused
from paysql_magic.providers.scripted import ScriptedProvider
from paysql_magic.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CHAIN_DB = "paysql_audit_chain_test"


class FailingProvider(ScriptedProvider):
    """A provider whose every call raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        super().__init__("SELECT 1")
        self.error = error

    def generate(self, prompt):
        raise self.error


@pytest.fixture(autouse=True)
def fallback_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "fallback" / "audit-fallback.jsonl"
    monkeypatch.setenv("PAYSQL_AUDIT_FALLBACK", str(path))
    return path


@pytest.fixture
def call_ids(monkeypatch) -> list[str]:
    """The call_id of every audit write in the test."""
    ids: list[str] = []
    write = audit.write

    def spy(engine, record):
        ids.append(record.call_id)
        return write(engine, record)

    monkeypatch.setattr(audit, "write", spy)
    return ids


def _rows(engine, call_id: str) -> list:
    with engine.connect() as conn:
        sql = "SELECT status, error FROM paysql.query_audit_log WHERE call_id = :c"
        return conn.execute(text(sql), {"c": call_id}).all()


SLOW = "SELECT count(*) FROM transactions a, transactions b"


@pytest.mark.parametrize(
    ("case", "error", "status"),
    [
        ("provider down", ProviderError, "error"),
        ("guard rejection", SqlRefused, "refused"),
        ("database error", ExecutionError, "error"),
        ("timeout", QueryTimeout, "error"),
        ("ctrl-c", KeyboardInterrupt, "cancelled"),
        ("unexpected", RuntimeError, "error"),
    ],
)
def test_every_failure_writes_exactly_one_row(case, error, status, reader_engine, admin_engine, call_ids):
    providers = {
        "provider down": FailingProvider(ProviderError("ollama is not running")),
        "ctrl-c": FailingProvider(KeyboardInterrupt()),
        "unexpected": FailingProvider(RuntimeError("boom")),
        "guard rejection": ScriptedProvider("DELETE FROM transactions"),
    }
    with pytest.raises(error):
        if case in providers:
            core.ask(f"a call that fails: {case}", reader_engine, provider=providers[case])
        elif case == "database error":
            core.run_sql("SELECT no_such_column FROM merchants", reader_engine)
        else:
            core.run_sql(SLOW, reader_engine, Settings(timeout_s=0.3))
    assert len(call_ids) == 1
    assert [row.status for row in _rows(admin_engine, call_ids[0])] == [status]


def _socket_url(url: str, socket_dir: Path, database: str) -> str:
    return make_url(url).set(database=database, query={"host": str(socket_dir)}).render_as_string(False)


@pytest.fixture(scope="module")
def chain_url(admin_url: str) -> str:
    """A superuser URL of a fresh database holding only an empty audit log."""
    url = fresh_database(admin_url, CHAIN_DB)
    with engine_for(url).begin() as conn:
        audit.ensure_table(conn)
    return url


def test_rows_are_kept_while_the_audit_database_is_down_and_written_once_it_is_back(
    chain_url, reader_engine, fallback_file, tmp_path
):
    host = make_url(chain_url).query.get("host")
    if not host or not str(host).startswith("/"):
        pytest.skip("needs the embedded server's unix socket")
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    url = _socket_url(chain_url, sockets, CHAIN_DB)  # no socket there yet: the audit database is unreachable
    settings = Settings(audit_url=url, user_name="while-down")
    engine = engine_for(url)
    for _ in range(2):
        with pytest.warns(UserWarning, match="audit row not written.*kept in memory and in"):
            assert int(core.run_sql("SELECT 1 AS one", reader_engine, settings).frame["one"].iloc[0]) == 1
    queued = [record.call_id for record in audit.pending(engine)]
    assert len(queued) == 2
    assert stat.S_IMODE(fallback_file.stat().st_mode) == 0o600
    assert len(fallback_file.read_text().splitlines()) == 2

    for socket in Path(str(host)).glob(".s.PGSQL.*[0-9]"):
        (sockets / socket.name).symlink_to(socket)  # the database is back
    last = core.run_sql("SELECT 1 AS one", reader_engine, settings).call_id
    assert audit.pending(engine) == []
    assert audit.import_fallback(engine) == audit.ImportResult(2, 0, 2)  # re-importing the file adds nothing
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT call_id::text FROM paysql.query_audit_log WHERE user_name = 'while-down'")
        ).scalars()
        assert sorted(rows) == sorted([*queued, last])


def _verify(url: str, capsys) -> tuple[int, str]:
    code = cli.main(["audit", "verify", "--database-url", url])
    return code, capsys.readouterr().out.strip()


def test_the_hash_chain_shows_an_edited_and_a_deleted_row(chain_url, capsys):
    engine = engine_for(chain_url)
    for i in range(5):
        assert audit.write(engine, audit.AuditRecord(source="api", status="ok", question=f"q{i}"))
    with engine.begin() as conn:
        ids = conn.execute(text("SELECT id, call_id FROM paysql.query_audit_log ORDER BY id")).all()
    code, out = _verify(chain_url, capsys)
    assert (code, out) == (0, f"audit log intact: {len(ids)} rows")

    edited, deleted = ids[-3], ids[-2]
    with engine.begin() as conn:
        conn.execute(text("UPDATE paysql.query_audit_log SET status = 'error' WHERE id = :id"), {"id": edited.id})
    code, out = _verify(chain_url, capsys)
    assert code == 1
    assert out == f"audit log broken at id {edited.id} (call_id {edited.call_id}): row hash mismatch"

    with engine.begin() as conn:
        conn.execute(text("UPDATE paysql.query_audit_log SET status = 'ok' WHERE id = :id"), {"id": edited.id})
        conn.execute(text("DELETE FROM paysql.query_audit_log WHERE id = :id"), {"id": deleted.id})
    code, out = _verify(chain_url, capsys)
    assert code == 1
    assert out.startswith(f"audit log broken at id {ids[-1].id} (call_id {ids[-1].call_id}): previous row missing")


def test_concurrent_processes_write_exactly_their_rows(reader_url, admin_url):
    script = ROOT / "benchmarks" / "audit_concurrency.py"
    args = ["--procs", "4", "--seconds", "15", "--database-url", reader_url, "--admin-url", admin_url]
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)
    print(done.stdout)  # expected vs written rows per process, shown with -s
    assert done.returncode == 0, done.stdout + done.stderr
    counts = [tuple(map(int, m)) for m in re.findall(r"expected (\d+) rows, written (\d+)", done.stdout)]
    assert len(counts) == 5  # four processes and the total
    assert all(expected == written for expected, written in counts), done.stdout
    assert counts[-1][0] == sum(expected for expected, _ in counts[:4]) > 4 * 10
    assert done.stdout.splitlines()[-1].startswith("audit log intact")
