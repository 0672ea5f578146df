"""The executor on the real database: safe on its own, even with the guard bypassed."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from pathlib import Path
from time import perf_counter

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from paysql_magic.errors import (
    ConfigError,
    DatabaseUnavailable,
    ExecutionError,
    PaysqlError,
    QueryTimeout,
    SqlRefused,
)
from paysql_magic.execute import run_query

HOSTILE = (Path(__file__).parent / "data" / "hostile_sql.txt").read_text(encoding="utf-8").splitlines()
TABLES = ("mcc_codes", "merchants", "customers", "transactions", "paysql.query_audit_log")
KILLS_OTHER_SESSIONS = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
FILES = ("stolen.txt", "/tmp/customers.csv", "/tmp/paysql_lo.txt")  # relative paths are in the data directory

_TABLE_STATE = "(SELECT (count(*), sum(hashtext(t::text)::numeric)) FROM {0} t)::text AS {1}"
_SERVER_STATE = f"""
SELECT
  {", ".join(_TABLE_STATE.format(t, t.replace(".", "_")) for t in TABLES)},
  (SELECT array_agg(c.oid::regclass::text || ':' || coalesce(c.relacl::text, '') ORDER BY 1) FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')) AS relations,
  (SELECT array_agg((rolname, rolsuper, rolconfig)::text ORDER BY 1) FROM pg_roles) AS roles,
  (SELECT array_agg(extname::text ORDER BY 1) FROM pg_extension) AS extensions,
  obj_description('transactions'::regclass, 'pg_class') AS comment,
  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') AS advisory_locks,
  (SELECT array_agg(setconfig::text ORDER BY 1) FROM pg_db_role_setting) AS role_settings,
  (SELECT array_agg((f, pg_stat_file(f, true))::text) FROM unnest(CAST(:files AS text[])) AS f) AS files
"""
_SESSION_STATE = """
SELECT
  (SELECT array_agg(name || '=' || setting ORDER BY name) FROM pg_settings
   WHERE name NOT LIKE 'plpgsql.%') AS settings,  -- calling a plpgsql function loads the language's defaults
  (SELECT count(*) FROM pg_prepared_statements) AS prepared,
  (SELECT count(*) FROM pg_cursors) AS cursors,
  (SELECT count(*) FROM pg_listening_channels()) AS listening
"""


def _server_state(admin_engine: Engine) -> dict:
    with admin_engine.connect() as conn:
        return dict(conn.execute(text(_SERVER_STATE), {"files": list(FILES)}).mappings().one())


def _session_state(engine: Engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(_SESSION_STATE)).mappings().one())


@pytest.fixture(scope="module")
def pooled_reader(reader_url: str):
    """One pooled reader connection: every call after the first gets the very session the last one used."""
    engine = create_engine(reader_url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def baseline(admin_engine, pooled_reader):
    return _server_state(admin_engine), _session_state(pooled_reader)


def _reader_may_terminate_sessions(admin_engine: Engine) -> bool:
    check = "SELECT has_function_privilege('paysql_reader', 'pg_terminate_backend(integer, bigint)', 'EXECUTE')"
    with admin_engine.connect() as conn:
        return conn.execute(text(check)).scalar_one()


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_sql_sent_directly_as_the_reader_changes_nothing(line, pooled_reader, admin_engine, baseline):
    if line == KILLS_OTHER_SESSIONS and _reader_may_terminate_sessions(admin_engine):
        pytest.xfail(
            "PostgreSQL lets a role terminate its own role's sessions, read-only or not: the demo setup must "
            "REVOKE EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint) FROM PUBLIC"
        )
    start = perf_counter()
    with contextlib.suppress(PaysqlError):
        run_query(pooled_reader, line, timeout_s=1)
    assert perf_counter() - start < 5
    assert _server_state(admin_engine) == baseline[0]
    assert _session_state(pooled_reader) == baseline[1]


def test_statement_timeout_cuts_pg_sleep(reader_engine):
    start = perf_counter()
    with pytest.raises(QueryTimeout, match=r"^query cancelled after 1\.5 s statement timeout$"):
        run_query(reader_engine, "SELECT pg_sleep(60)", timeout_s=1.5)
    assert 1.4 < perf_counter() - start < 4


def test_only_one_statement_is_sent(reader_engine, admin_engine):
    before = _server_state(admin_engine)
    with pytest.raises(ExecutionError, match="cannot insert multiple commands into a prepared statement"):
        run_query(reader_engine, "SELECT 1; COMMIT; DELETE FROM transactions")
    assert _server_state(admin_engine) == before


def test_psycopg2_url_still_sends_one_statement_through_psycopg3(reader_url, admin_engine):
    engine = create_engine(make_url(reader_url).set(drivername="postgresql+psycopg2"))
    assert engine.dialect.driver == "psycopg2"
    before = _server_state(admin_engine)
    with pytest.raises(ExecutionError, match="cannot insert multiple commands"):
        run_query(engine, "SELECT 1; COMMIT; DELETE FROM transactions")
    assert _server_state(admin_engine) == before
    result = run_query(engine, "SELECT count(*) AS n FROM merchants")
    assert result.frame["n"].dtype == "Int64"
    engine.dispose()


def test_a_write_is_refused_by_the_read_only_transaction(admin_engine):
    before = _server_state(admin_engine)
    for sql in (
        "UPDATE merchants SET city = 'x' RETURNING merchant_id",
        "WITH d AS (DELETE FROM transactions RETURNING 1) SELECT count(*) FROM d",
        "SELECT lo_from_bytea(0, 'x')",
    ):
        with pytest.raises(ExecutionError, match="in a read-only transaction"):
            run_query(admin_engine, sql, allow_superuser=True)
    assert _server_state(admin_engine) == before


def test_an_autocommit_engine_still_gets_a_read_only_transaction(admin_url):
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with pytest.raises(ExecutionError, match="cannot execute UPDATE in a read-only transaction"):
        run_query(engine, "UPDATE merchants SET city = 'x' RETURNING merchant_id", allow_superuser=True)
    engine.dispose()


@pytest.mark.parametrize("sql", ["UPDATE transactions SET amount_kzt = 0", "SET statement_timeout = 0", "COMMIT"])
def test_a_statement_without_result_columns_is_refused_before_it_runs(sql, reader_engine):
    with pytest.raises(SqlRefused, match="the statement returns no rows: only queries are run"):
        run_query(reader_engine, sql)


def test_a_superuser_connection_is_refused_unless_allowed(admin_engine):
    with pytest.raises(
        ConfigError,
        match=r"superuser \S+: connect as a read-only role such as paysql_reader, or pass --allow-superuser",
    ):
        run_query(admin_engine, "SELECT 1 AS one")
    assert run_query(admin_engine, "SELECT 1 AS one", allow_superuser=True).row_count == 1


def test_a_session_advisory_lock_is_released(pooled_reader, admin_engine):
    run_query(pooled_reader, "SELECT pg_advisory_lock(42)")
    with admin_engine.connect() as conn:
        locks = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar_one()
    assert locks == 0
    assert run_query(pooled_reader, "SELECT pg_try_advisory_lock(42) AS got").frame["got"].tolist() == [True]


def test_a_session_setting_does_not_outlive_the_query(pooled_reader):
    before = _session_state(pooled_reader)
    run_query(pooled_reader, "SELECT set_config('statement_timeout', '1', false)")
    assert run_query(pooled_reader, "SELECT count(*) AS n FROM transactions").row_count == 1
    with pooled_reader.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "0"
    assert _session_state(pooled_reader) == before


def test_a_connection_that_dies_is_thrown_away(pooled_reader, admin_engine):
    pid = int(run_query(pooled_reader, "SELECT pg_backend_pid() AS pid").frame["pid"].iloc[0])
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    with contextlib.suppress(PaysqlError):  # the dead connection fails once at most, then is discarded
        run_query(pooled_reader, "SELECT 1 AS one")
    assert run_query(pooled_reader, "SELECT 1 AS one").frame["one"].tolist() == [1]


def test_the_dtype_map_column_by_column(reader_engine):
    sql = """
        SELECT 1::int2 AS small, 2::int AS int, 3000000000::bigint AS big, 1.25::numeric AS num, 2.5::float8 AS f8,
               'x'::text AS txt, 'ab'::char(3) AS c3, 'v'::varchar AS vc, DATE '2024-01-02' AS d,
               TIMESTAMP '2024-01-02 03:04:05' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tstz, true AS b,
               '1 day'::interval AS iv
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    """
    frame = run_query(reader_engine, sql).frame
    expected = {
        "small": "Int64",
        "int": "Int64",
        "big": "Int64",
        "num": "float64",
        "f8": "float64",
        "txt": "str",
        "c3": "str",
        "vc": "str",
        "d": "datetime64[ns]",
        "ts": "datetime64[ns]",
        "tstz": "datetime64[ns, Asia/Almaty]",
        "b": "boolean",
        "iv": "object",
    }
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == expected
    assert frame["small"].tolist() == [1, pd.NA]
    assert frame["int"].tolist() == [2, pd.NA]
    assert frame["big"].tolist() == [3_000_000_000, pd.NA]
    assert frame["b"].tolist() == [True, pd.NA]
    assert frame["iv"].tolist() == [dt.timedelta(days=1), None]
    first = frame.iloc[0]
    assert (first["num"], first["f8"]) == (1.25, 2.5)
    assert (first["txt"], first["c3"], first["vc"]) == ("x", "ab ", "v")
    assert first["d"] == pd.Timestamp("2024-01-02")
    assert first["ts"] == pd.Timestamp("2024-01-02 03:04:05")
    assert first["tstz"] == pd.Timestamp("2024-01-02 09:04:05", tz="Asia/Almaty")
    assert frame.iloc[1].isna().all()


def test_exact_decimal_keeps_numeric_as_decimal(reader_engine):
    sql = "SELECT 0.1::numeric + 0.2::numeric AS exact, NULL::numeric AS missing"
    frame = run_query(reader_engine, sql, exact_decimal=True).frame
    assert frame["exact"].dtype == object
    assert frame["exact"].iloc[0] == Decimal("0.3")
    assert pd.isna(frame["missing"].iloc[0])
    assert run_query(reader_engine, sql).frame["exact"].iloc[0] == pytest.approx(0.3)


def test_an_empty_result_keeps_its_columns_and_types(reader_engine):
    frame = run_query(reader_engine, "SELECT merchant_id, city, registered_at FROM merchants WHERE false").frame
    assert list(frame.columns) == ["merchant_id", "city", "registered_at"]
    assert [str(t) for t in frame.dtypes] == ["Int64", "str", "datetime64[ns]"]


def test_duplicate_column_names_are_kept(reader_engine):
    frame = run_query(reader_engine, "SELECT 1 AS n, 'a' AS n, count(*) FROM merchants").frame
    assert list(frame.columns) == ["n", "n", "count"]


def test_dates_beyond_nanoseconds_keep_a_coarser_unit(reader_engine):
    frame = run_query(reader_engine, "SELECT DATE '9999-12-31' AS valid_to").frame
    assert frame["valid_to"].iloc[0] == pd.Timestamp("9999-12-31")


@pytest.mark.parametrize(("max_rows", "row_count", "truncated"), [(5, 5, True), (10, 10, False), (None, 10, False)])
def test_at_most_max_rows_are_fetched(reader_engine, max_rows, row_count, truncated):
    result = run_query(reader_engine, "SELECT g FROM generate_series(1, 10) AS g ORDER BY g", max_rows=max_rows)
    assert (result.row_count, result.truncated, len(result.frame)) == (row_count, truncated, row_count)
    assert result.frame["g"].tolist() == list(range(1, row_count + 1))


def test_a_large_result_is_cut_and_the_connection_stays_usable(pooled_reader):
    result = run_query(pooled_reader, "SELECT * FROM transactions", max_rows=3)
    assert (result.row_count, result.truncated) == (3, True)
    assert run_query(pooled_reader, "SELECT 1 AS one").row_count == 1


def test_execution_time_is_measured_around_the_statement(reader_engine):
    result = run_query(reader_engine, "SELECT 1 AS one FROM pg_sleep(0.2)")
    assert 200 <= result.execution_time_ms < 2000


def test_a_database_error_is_one_line_without_the_url(reader_engine):
    with pytest.raises(ExecutionError) as error:
        run_query(reader_engine, "SELECT no_such_column FROM transactions")
    assert str(error.value) == 'column "no_such_column" does not exist'


def test_an_unreachable_database_is_reported_with_the_password_masked():
    engine = create_engine("postgresql+psycopg://analyst:s3cret@127.0.0.1:1/payments")
    with pytest.raises(DatabaseUnavailable, match=r"postgresql\+psycopg://analyst:\*\*\*@127\.0\.0\.1:1") as error:
        run_query(engine, "SELECT 1")
    assert "s3cret" not in str(error.value)
