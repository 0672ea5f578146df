"""The COPY -> Arrow fast path of the executor: the same frames as the streaming path, and just as safe."""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from test_execute import HOSTILE, KILLS_OTHER_SESSIONS, _reader_may_terminate_sessions, _server_state

from paysql_magic import fetch
from paysql_magic.errors import ExecutionError, PaysqlError, QueryTimeout, SqlRefused
from paysql_magic.execute import run_query

ALL_TYPES = """
    SELECT 1::int2 AS small, 2::int AS int, 3000000000::bigint AS big, 1.25::numeric AS num, 2.5::float8 AS f8,
           0.1::float4 AS f4, 123456789012.34::numeric(14, 2) AS money, 'x'::text AS txt, 'ab'::char(3) AS c3,
           'v'::varchar AS vc, 'nm'::name AS nm, DATE '2024-01-02' AS d, TIMESTAMP '2024-01-02 03:04:05.123456' AS ts,
           TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tstz, now()::date AS today, true AS b, 'тенге ₸' AS unicode,
           E'tab\\tnewline\\n' AS escaped, 1 AS n, 2 AS n
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL
"""


@pytest.fixture
def path_used(monkeypatch) -> list[str]:
    """Records each fast-path fetch; a test reads it to know which path ran."""
    calls: list[str] = []
    real = fetch.fetch

    def spy(url: str, sql: str, max_bytes: int | None = None):
        calls.append(sql)
        return real(url, sql, max_bytes)

    monkeypatch.setattr(fetch, "fetch", spy)
    return calls


def _both_paths(engine, sql: str, path_used: list[str], **kwargs):
    streamed = run_query(engine, sql, max_rows=None, fast=False, **kwargs)
    assert path_used == []
    fast = run_query(engine, sql, max_rows=None, fast=True, **kwargs)
    assert len(path_used) == 1
    return streamed, fast


def test_the_fast_path_gives_the_streaming_frame_column_by_column(reader_engine, path_used):
    streamed, fast = _both_paths(reader_engine, ALL_TYPES, path_used)
    assert list(fast.frame.columns) == list(streamed.frame.columns)
    for i, name in enumerate(streamed.frame.columns):
        left, right = fast.frame.iloc[:, i], streamed.frame.iloc[:, i]
        assert str(left.dtype) == str(right.dtype), name
        pd.testing.assert_series_equal(left, right, check_exact=True, obj=name)
    assert str(fast.frame["tstz"].dtype) == "datetime64[ns, Asia/Almaty]"
    assert fast.frame["money"].iloc[0] == 123456789012.34
    assert fast.frame.iloc[1].isna().all()
    assert (fast.row_count, fast.truncated) == (2, False)


def test_the_fast_path_gives_the_streaming_frame_on_the_demo_tables(reader_engine, path_used):
    sql = """SELECT t.*, m.registered_at, m.city FROM transactions t JOIN merchants m USING (merchant_id)
             ORDER BY t.transaction_id"""
    streamed, fast = _both_paths(reader_engine, sql, path_used)
    pd.testing.assert_frame_equal(fast.frame, streamed.frame, check_exact=True)
    assert fast.row_count > 10_000


def test_an_empty_result_keeps_its_columns_and_types_on_the_fast_path(reader_engine, path_used):
    sql = "SELECT merchant_id, city, registered_at FROM merchants WHERE false"
    streamed, fast = _both_paths(reader_engine, sql, path_used)
    pd.testing.assert_frame_equal(fast.frame, streamed.frame)
    assert [str(t) for t in fast.frame.dtypes] == ["Int64", "str", "datetime64[ns]"]


@pytest.mark.parametrize(("max_rows", "row_count", "truncated"), [(10_000, 10_000, True), (20_000, 20_000, False)])
def test_the_fast_path_reads_at_most_max_rows_plus_one(reader_engine, path_used, max_rows, row_count, truncated):
    result = run_query(reader_engine, "SELECT g FROM generate_series(1, 20000) AS g ORDER BY g", max_rows=max_rows)
    assert path_used and path_used[0].endswith(f"LIMIT {max_rows + 1}")
    assert (result.row_count, result.truncated, len(result.frame)) == (row_count, truncated, row_count)
    assert result.frame["g"].tolist() == list(range(1, row_count + 1))


def test_small_caps_keep_the_streaming_path(reader_engine, path_used):
    assert run_query(reader_engine, "SELECT 1 AS one", max_rows=1000).row_count == 1
    assert path_used == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '1 day'::interval AS iv",  # a type the fast path does not map
        "SHOW TimeZone",  # has result columns, but no subquery can hold it
        "SELECT 1 AS one;",
        "SELECT 1 AS one -- a trailing comment ) with a parenthesis",
    ],
)
def test_what_the_fast_path_cannot_hold_is_streamed(reader_engine, sql):
    assert run_query(reader_engine, sql, max_rows=None).row_count == 1


def test_exact_decimal_is_streamed(reader_engine, path_used):
    frame = run_query(reader_engine, "SELECT 0.1::numeric + 0.2::numeric AS exact", max_rows=None, exact_decimal=True)
    assert frame.frame["exact"].iloc[0] == Decimal("0.3")
    assert path_used == []


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_sql_on_the_fast_path_changes_nothing(line, reader_engine, admin_engine):
    if line == KILLS_OTHER_SESSIONS and _reader_may_terminate_sessions(admin_engine):
        pytest.xfail("the demo setup must REVOKE EXECUTE ON FUNCTION pg_terminate_backend FROM PUBLIC")
    before = _server_state(admin_engine)
    with contextlib.suppress(PaysqlError):
        run_query(reader_engine, line, timeout_s=1, max_rows=None)
    assert _server_state(admin_engine) == before


def test_the_copy_wrapper_lets_no_second_statement_escape(reader_url, admin_engine):
    """Even SQL that closes the subquery itself stays one statement: the driver uses the extended protocol."""
    before = _server_state(admin_engine)
    url = fetch.libpq_url(create_engine(reader_url), timeout_ms=2000, timezone_name="UTC")
    for escape in (
        "SELECT 1; COMMIT; DELETE FROM transactions",
        "SELECT 1) TO STDOUT; COMMIT; DELETE FROM transactions; COPY (SELECT 1",
        "SELECT 1 AS c0) AS x; COMMIT; DELETE FROM transactions; SELECT * FROM (SELECT 1",
    ):
        with pytest.raises((fetch.FastPathError, fetch.FastPathUnavailable)):
            fetch.fetch(url, fetch.wrap(escape, ["integer"], 2))
    assert _server_state(admin_engine) == before


def test_several_statements_are_refused_before_the_fast_path(reader_engine, admin_engine, path_used):
    before = _server_state(admin_engine)
    with pytest.raises(ExecutionError, match="cannot insert multiple commands into a prepared statement"):
        run_query(reader_engine, "SELECT 1; COMMIT; DELETE FROM transactions", max_rows=None)
    with pytest.raises(SqlRefused):
        run_query(reader_engine, "COPY transactions TO STDOUT", max_rows=None)
    assert path_used == []
    assert _server_state(admin_engine) == before


def test_small_results_stream_and_large_ones_take_the_fast_path(reader_engine, path_used):
    """With no cap, the planner's estimate decides: a one-row aggregate streams, 20,000 rows take the fast path."""
    run_query(reader_engine, "SELECT count(*) AS n FROM transactions", max_rows=None)
    assert path_used == []
    assert run_query(reader_engine, "SELECT * FROM transactions", max_rows=None).row_count > 10_000
    assert len(path_used) == 1
    assert run_query(reader_engine, "SHOW TimeZone", max_rows=None).frame.iloc[0, 0] == "Asia/Almaty"


def test_the_statement_timeout_applies_on_the_fast_path(reader_engine, path_used):
    with pytest.raises(QueryTimeout, match=r"^query cancelled after 1\.5 s statement timeout$"):
        run_query(reader_engine, "SELECT 1 AS one FROM pg_sleep(60)", timeout_s=1.5, max_rows=None, fast=True)
    assert len(path_used) == 1


def test_the_fast_path_runs_read_only(admin_engine, path_used):
    before = _server_state(admin_engine)
    with pytest.raises(ExecutionError, match="in a read-only transaction"):
        run_query(
            admin_engine, "SELECT lo_from_bytea(0, 'x')::int8 AS lo", max_rows=None, allow_superuser=True, fast=True
        )
    assert len(path_used) == 1
    assert _server_state(admin_engine) == before


def test_a_runtime_error_on_the_fast_path_is_one_line(reader_engine, path_used):
    with pytest.raises(ExecutionError) as error:
        run_query(reader_engine, "SELECT 1 / (g - 1) AS x FROM generate_series(1, 2) AS g", max_rows=None, fast=True)
    assert str(error.value) == "division by zero"
    assert len(path_used) == 1


def test_nothing_outlives_a_fast_path_query(reader_engine, admin_engine, path_used):
    result = run_query(reader_engine, "SELECT pg_try_advisory_lock(42) AS got", max_rows=None, fast=True)
    assert result.frame["got"].tolist() == [True]
    assert len(path_used) == 1
    for _ in range(50):  # the closed session's backend exits right after the client leaves
        with admin_engine.connect() as conn:
            locks = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar_one()
        if locks == 0:
            break
        time.sleep(0.02)
    assert locks == 0
