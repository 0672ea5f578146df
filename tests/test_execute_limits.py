"""The executor's bounds: superuser powers in any form are refused, results are capped in bytes on both fetch
paths (one row at most past the cap), temp files are capped by the role's ``temp_file_limit`` (set by
grant-readonly and the demo) and a role that runs without one is told so."""

from __future__ import annotations

import tracemalloc
import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from paysql_magic import core, execute, grants
from paysql_magic.demo.dataset import with_user
from paysql_magic.errors import ConfigError, ExecutionError, ResultTooLarge
from paysql_magic.execute import run_query
from paysql_magic.settings import Settings

MB = 1024 * 1024
MEMBER = "paysql_test_member"
ROLES = ("paysql_test_middle", MEMBER)


@pytest.fixture
def member(admin_url: str, admin_engine: Engine) -> Iterator[tuple[Engine, Engine]]:
    """A role with no attribute of its own, and the admin to grant it memberships."""
    with admin_engine.begin() as conn:
        for role in ROLES:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} NOSUPERUSER")
        conn.exec_driver_sql(f"ALTER ROLE {MEMBER} LOGIN; GRANT SELECT ON merchants TO {MEMBER}")
        conn.exec_driver_sql(f"ALTER ROLE {MEMBER} SET temp_file_limit = '1GB'")
    engine = create_engine(with_user(admin_url, MEMBER))
    yield engine, admin_engine
    engine.dispose()
    with admin_engine.begin() as conn:
        for role in reversed(ROLES):
            conn.exec_driver_sql(f"DROP OWNED BY {role}; DROP ROLE {role}")


@pytest.mark.parametrize(
    ("grant", "named"),
    [
        ("GRANT postgres TO paysql_test_member", "postgres"),  # a member of a superuser role can SET ROLE to it
        ("GRANT pg_read_server_files TO paysql_test_member", "pg_read_server_files"),
        ("GRANT pg_write_server_files TO paysql_test_member", "pg_write_server_files"),
        # through another role, without inheriting its privileges: SET ROLE still reaches it
        (
            "GRANT pg_execute_server_program TO paysql_test_middle; "
            "GRANT paysql_test_middle TO paysql_test_member WITH INHERIT FALSE",
            "pg_execute_server_program",
        ),
    ],
)
def test_superuser_powers_through_membership_are_refused(member, grant, named):
    engine, admin = member
    assert run_query(engine, "SELECT count(*) AS n FROM merchants").frame["n"].iloc[0] == 300
    with admin.begin() as conn:
        conn.exec_driver_sql(grant)
    with pytest.raises(ConfigError, match=rf"refusing to run generated SQL as {MEMBER}: it is a member of .*{named}"):
        run_query(engine, "SELECT count(*) AS n FROM merchants")
    assert run_query(engine, "SELECT 1 AS one", allow_superuser=True).row_count == 1  # when asked for


def test_the_demo_reader_and_a_granted_role_have_temp_files_and_sort_memory_bounded(reader_engine, admin_engine):
    with reader_engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW temp_file_limit").scalar_one() == grants.TEMP_FILE_LIMIT
        assert conn.exec_driver_sql("SHOW work_mem").scalar_one() == grants.WORK_MEM


def test_a_temp_file_attack_stops_at_the_limit(member):
    """The issue's sort over a huge series wrote 3.9 GB of temp files before the timeout; with the limit it stops at
    it (a small limit here, so the test is quick: grant-readonly sets 1GB)."""
    engine, admin = member
    with admin.begin() as conn:
        conn.exec_driver_sql(
            f"ALTER ROLE {MEMBER} SET temp_file_limit = '8MB'; ALTER ROLE {MEMBER} SET work_mem = '1MB'"
        )
    engine.dispose()  # new sessions take the role's settings
    before = _temp_bytes(admin)
    with pytest.raises(ExecutionError, match=r"temporary file size exceeds \W?temp_file_limit"):
        run_query(engine, "SELECT g FROM generate_series(1, 20000000) AS g ORDER BY g DESC", timeout_s=30)
    written = _temp_bytes(admin) - before
    assert written <= 12 * MB, f"{written:,} bytes of temp files"


def _temp_bytes(admin: Engine) -> int:
    with admin.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        return conn.execute(text("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")).scalar()


def test_a_role_without_a_temp_file_limit_is_told_once(member):
    engine, admin = member
    with admin.begin() as conn:
        conn.exec_driver_sql(f"ALTER ROLE {MEMBER} RESET temp_file_limit")
    engine.dispose()
    execute._unbounded_told.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            run_query(engine, "SELECT 1 AS one")
    lines = [str(w.message) for w in caught if "temp_file_limit" in str(w.message)]
    assert len(lines) == 1 and f"role {MEMBER} runs with temp_file_limit unset" in lines[0]


HUGE_ROWS = "SELECT lpad('x', {size}, 'y') AS s FROM generate_series(1, 10)"  # the attack, scaled down


def test_a_result_over_the_byte_cap_stops_after_one_row(reader_engine):
    tracemalloc.start()
    try:
        with pytest.raises(ResultTooLarge, match=r"the result is over 1 MB \(the byte cap\)"):
            run_query(reader_engine, HUGE_ROWS.format(size=2 * MB), max_bytes=MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * MB + MB  # the one row the driver held (2 MB) and its text, never the ten rows (20 MB)
    cut = run_query(reader_engine, HUGE_ROWS.format(size=1000), max_bytes=MB)  # 10 kB: well under the cap
    assert cut.row_count == 10
    assert run_query(reader_engine, HUGE_ROWS.format(size=2 * MB), max_bytes=None).row_count == 10


def test_the_byte_cap_holds_on_the_fast_path(reader_engine):
    sql = "SELECT repeat('x', 1000) AS s, g FROM generate_series(1, 50000) AS g"  # about 50 MB
    with pytest.raises(ResultTooLarge):
        run_query(reader_engine, sql, max_rows=None, fast=True, max_bytes=2 * MB)
    assert run_query(reader_engine, sql, max_rows=None, fast=True, max_bytes=100 * MB).row_count == 50000


def test_the_cap_reaches_the_core_and_the_audit(reader_engine, admin_engine):
    with pytest.raises(ResultTooLarge):
        core.run_sql(HUGE_ROWS.format(size=2 * MB), reader_engine, Settings(max_bytes=MB))
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT status, error FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).one()
    assert row.status == "error" and "the result is over 1 MB" in row.error
