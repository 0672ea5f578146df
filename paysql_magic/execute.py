"""The executor: run one statement read-only and return a DataFrame, safely even if the guard were wrong.

Every call:

- refuses a superuser connection unless ``allow_superuser`` (a superuser's READ ONLY transaction still runs
  ``COPY ... TO PROGRAM`` and reads server files): a role that is a member, directly or through other roles, of a
  superuser role or of ``pg_read_server_files``, ``pg_write_server_files`` or ``pg_execute_server_program`` counts
  as one, since it can ``SET ROLE`` to it;
- says once per database and role (a warning) when the role runs with ``temp_file_limit`` unset: a sort or hash
  can then fill the server's disk with temp files until the timeout (``paysql grant-readonly`` sets it);
- runs on psycopg 3, whatever driver the engine names: a ``postgresql+psycopg2://`` engine is swapped for the
  shared psycopg 3 engine of the same URL, because psycopg2 sends everything through the simple query protocol,
  where ``SELECT 1; COMMIT; DELETE ...`` runs three statements;
- opens a READ ONLY transaction with ``SET LOCAL statement_timeout`` and reads the session's powers and
  ``temp_file_limit`` (the checks above) in the same round trip: the connection is in autocommit for the call, and
  ``BEGIN READ ONLY``, the settings and that query go as one simple-protocol query of fixed text;
- parses and describes the SQL as the unnamed statement of the extended query protocol (``PQprepare``, which
  takes exactly one statement) and refuses a statement without result columns (SET, COPY, LISTEN, PREPARE ...)
  before anything runs;
- runs it through ``Cursor.stream()``, which always uses the extended protocol. (``Cursor.execute()`` without
  parameters uses the simple protocol, which runs every statement in the string: psycopg/_cursor_base.py,
  ``_execute_send``: ``elif force_extended or query.params or fmt == BINARY: send_query_params(...)``,
  ``else: send_query(...)``. An empty parameter tuple is no way out: it dumps to an empty, false ``params``,
  and it makes psycopg read every ``%`` in the SQL as a placeholder.)
  Rows arrive in chunks, and at most ``max_rows + 1`` are read (the extra one tells ``truncated``). At most
  ``max_bytes`` of data are read (text and bytes by their length, other values by their width): past it the fetch
  stops with ``ResultTooLarge``. When a column can hold values of any size (text, bytea, json, arrays, numeric
  without a precision), rows are read one at a time, so the driver never holds more than one row beyond the cap
  (9,000 demo transactions: 45 ms instead of 31 ms chunked); with bounded columns only (numbers, dates,
  varchar(n), numeric(p, s)) chunks of 1,000 rows are safe, and the cap is a number of rows;
- always rolls back, then releases session advisory locks, which a rollback keeps (one round trip for both).
  Settings changed by the statement (``set_config(..., false)``) are undone by the rollback; PREPARE, DECLARE and
  LISTEN have no result columns, so they never run. A connection that cannot be cleaned is invalidated: its state
  dies with it.

Large results take the fast path (``paysql_magic.fetch``): after the describe above, the statement runs as
``COPY (SELECT ... FROM (<sql>) AS q(c0, ...) LIMIT max_rows + 1) TO STDOUT (FORMAT binary)`` through the ADBC
PostgreSQL driver, which decodes the binary rows into Arrow in C++. It uses its own libpq connection of the same
URL, opened for the call and closed after it (so locks and settings die with the session), started with
``default_transaction_read_only=on``, the same ``statement_timeout`` and the executor session's TimeZone; the
driver sends the COPY through the extended protocol, so it is one statement or nothing. ``fast=None`` (default)
tries it when the row cap allows ``FAST_PATH_MIN_ROWS`` (10,000) rows or more and the planner expects that many
(a plain ``EXPLAIN`` in a savepoint taken when the transaction begins: nothing runs); ``fast=True`` always,
``fast=False`` never.
It falls back to streaming when the driver is missing or cannot connect, when a column type is not in the
map below (interval, json, arrays, "char" ...), with ``exact_decimal``, and when the statement cannot sit in a
subquery (SHOW, EXPLAIN: a syntax error of the wrapper). Measured on the 1M-row demo (2 cores, best of 3,
``benchmarks/fetch.py``): streaming 5 ms / 32 ms / 183 ms / 3.9 s for 1k / 10k / 50k / 1M rows, the fast path
30 ms / 39 ms / 66 ms / 0.75-0.90 s (about 25 ms of it is the connection): break-even near 12k rows, hence the
threshold; at 1M rows it is 6.3-7.6x ``pandas.read_sql`` (5.7 s) and 1.2-1.3x a bare ``COPY`` read into nothing
(0.58-0.75 s). Rejected: ADBC as is (numeric arrives as strings: 1.55 s), psycopg ``copy.rows()`` with
``set_types`` (3.7 s before any DataFrame is built).
Both paths give the same frame (tests/test_fetch.py compares them column by column). The fast path reads Arrow
record batches of at most 16 MB (less for a small cap) and stops at the first one past ``max_bytes``.

Column types decide the dtypes, from the result's type OIDs, on every path (empty results too): integers ->
``Int64``; numeric and floats -> ``float64`` (``exact_decimal`` keeps numeric as ``decimal.Decimal``);
timestamptz -> ``datetime64[ns, <session TimeZone>]``; timestamp and date -> ``datetime64[ns]`` (values
past 2262 keep a coarser unit); text, varchar and char -> ``str``; bool -> ``boolean``; anything else stays
as psycopg loads it (``object``). NULLs become NA / NaN / NaT.
"""

from __future__ import annotations

import itertools
import warnings
from contextlib import closing
from dataclasses import dataclass
from datetime import tzinfo
from time import perf_counter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import psycopg
from psycopg import pq
from psycopg.postgres import types as pg_types
from psycopg.rows import tuple_row
from sqlalchemy import Connection, Engine

from paysql_magic import fetch
from paysql_magic.connection import connect, first_line, psycopg_engine
from paysql_magic.errors import ConfigError, ExecutionError, QueryTimeout, ResultTooLarge, SqlRefused
from paysql_magic.settings import DEFAULT_MAX_BYTES, format_size

_CHUNK_ROWS = 1000
_KINDS = {
    **dict.fromkeys(("int2", "int4", "int8"), "integer"),
    **dict.fromkeys(("float4", "float8"), "float"),
    "numeric": "numeric",
    **dict.fromkeys(("text", "varchar", "bpchar", '"char"', "name"), "string"),
    "bool": "boolean",
    **dict.fromkeys(("date", "timestamp"), "datetime"),
    "timestamptz": "datetimetz",
}
_KIND_BY_OID = {pg_types[name].oid: kind for name, kind in _KINDS.items()}
_FAST_OIDS = {oid for oid, kind in _KIND_BY_OID.items()} - {pg_types['"char"'].oid}
FAST_PATH_MIN_ROWS = 10_000  # max_rows from which the COPY path is tried (max_rows=None always tries it)
# Values of a bounded width: with only these columns a chunk of rows is bounded too (the byte cap holds per chunk)
_WIDTHS = {
    **{pg_types[name].oid: width for name, width in (("int2", 2), ("int4", 4), ("int8", 8), ("float4", 4))},
    **{pg_types[name].oid: width for name, width in (("float8", 8), ("bool", 1), ("date", 4), ("timestamp", 8))},
    **{pg_types[name].oid: width for name, width in (("timestamptz", 8), ("uuid", 16), ('"char"', 1))},
    **{pg_types[name].oid: width for name, width in (("time", 8), ("interval", 16), ("oid", 4))},
}
_BOUNDED_TEXT = {pg_types["varchar"].oid, pg_types["bpchar"].oid}
_SERVER_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_SESSION_CHECK = f"""
SELECT (SELECT string_agg(r.rolname, ', ' ORDER BY r.rolname) FROM pg_catalog.pg_roles AS r
        WHERE (r.rolsuper OR r.rolname IN ({", ".join(f"'{name}'" for name in _SERVER_ROLES)}))
          AND (pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')
               OR pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER'))) AS powers,
       pg_catalog.current_setting('temp_file_limit') AS temp_file_limit
"""
_ESTIMATE = "paysql_estimate"  # the savepoint of the planner's row estimate
_unbounded_told: set[tuple[str, str]] = set()  # (database URL, role) told that temp files are unbounded


@dataclass(frozen=True)
class QueryResult:
    """What one query returned."""

    frame: pd.DataFrame
    row_count: int
    truncated: bool  # more rows existed than max_rows
    execution_time_ms: float


class _Column(NamedTuple):
    name: str
    oid: int
    fmod: int = -1  # the type modifier: varchar(n), numeric(p, s) ... (-1: none)

    def width(self) -> int | None:
        """The most bytes one value can take, or None when any size is possible (text, bytea, json, arrays,
        numeric without a precision)."""
        if self.oid in _WIDTHS:
            return _WIDTHS[self.oid]
        if self.fmod >= 4 and self.oid in _BOUNDED_TEXT:
            return 4 * (self.fmod - 4)  # characters of at most 4 bytes in UTF-8
        if self.fmod >= 4 and self.oid == pg_types["numeric"].oid:
            return ((self.fmod - 4) >> 16) + 8  # its digits, sign and point
        return None


def run_query(
    engine: Engine,
    sql: str,
    *,
    timeout_s: float = 30.0,
    max_rows: int | None = 1000,
    exact_decimal: bool = False,
    allow_superuser: bool = False,
    fast: bool | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> QueryResult:
    """Run ``sql`` (one statement) in a READ ONLY transaction that is always rolled back; see the module doc."""
    limit = None if max_rows is None else max_rows + 1
    estimate = fast is None and (max_rows is None or max_rows >= FAST_PATH_MIN_ROWS)  # the planner may be asked
    with connect(psycopg_engine(engine)) as conn:
        raw: psycopg.Connection = conn.connection.driver_connection
        _refuse_superuser(raw, allow_superuser)
        timezone = raw.info.timezone
        table = None
        try:
            raw.autocommit = True  # the transaction is the one begun here and rolled back by _reset
            _check_session(engine, raw, allow_superuser, _begin_read_only(raw, timeout_s, savepoint=estimate))
            columns = _describe(raw, sql)
            if _fast_path_fits(columns, exact_decimal) and _fast_wanted(raw, sql, max_rows, fast):
                table, elapsed_ms = _fetch_fast(engine, raw, sql, columns, limit, timeout_s, max_bytes)
            if table is None:
                start = perf_counter()
                rows = _fetch(raw, sql, limit, columns, max_bytes)
                elapsed_ms = (perf_counter() - start) * 1000
        except psycopg.errors.QueryCanceled:
            raise QueryTimeout(_timeout_message(timeout_s)) from None
        except psycopg.Error as exc:
            raise ExecutionError(first_line(exc)) from None
        except UnicodeEncodeError as exc:  # e.g. a lone surrogate: it has no form in the connection's encoding
            raise ExecutionError(f"the SQL holds a character the database cannot take ({exc.reason})") from None
        finally:
            _reset(conn, raw)
    if table is not None:
        truncated = max_rows is not None and table.num_rows > max_rows
        table = table.slice(0, max_rows) if truncated else table
        kinds = [_fast_kind(column) for column in columns]
        frame = fetch.frame(table, [column.name for column in columns], kinds, timezone)
        return QueryResult(frame, len(frame), truncated, elapsed_ms)
    truncated = max_rows is not None and len(rows) > max_rows
    rows = rows[:max_rows] if truncated else rows
    return QueryResult(_frame(columns, rows, timezone, exact_decimal), len(rows), truncated, elapsed_ms)


def too_large(max_bytes: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"the result is over {format_size(max_bytes)} (the byte cap): ask for fewer rows or columns, "
        "or raise Ask.max_bytes / --max-bytes"
    )


def _timeout_message(timeout_s: float) -> str:
    return f"query cancelled after {timeout_s:g} s statement timeout"


def _fast_path_fits(columns: list[_Column], exact_decimal: bool) -> bool:
    """The driver is there and every column is of a type the fast path maps."""
    if not fetch.available():
        return False
    oids = _FAST_OIDS - {pg_types["numeric"].oid} if exact_decimal else _FAST_OIDS
    return all(column.oid in oids for column in columns)


def _fast_wanted(raw: psycopg.Connection, sql: str, max_rows: int | None, fast: bool | None) -> bool:
    """Asked for, or a large result allowed by the cap and expected by the planner (worth a second connection)."""
    if fast is not None:
        return fast
    if max_rows is not None and max_rows < FAST_PATH_MIN_ROWS:
        return False
    return _estimated_rows(raw, sql) >= FAST_PATH_MIN_ROWS


def _estimated_rows(raw: psycopg.Connection, sql: str) -> float:
    """The planner's row estimate (plain EXPLAIN, extended protocol, after the savepoint ``_begin_read_only`` took:
    a statement EXPLAIN cannot take, such as SHOW, leaves the transaction usable and counts as small; after a plan
    the savepoint is simply left open, the call's rollback ends it)."""
    with raw.cursor() as cur:
        try:
            ((plan,),) = list(cur.stream(f"EXPLAIN (FORMAT JSON) {sql}"))
        except psycopg.errors.QueryCanceled:
            raise
        except psycopg.Error:
            cur.execute(f"ROLLBACK TO SAVEPOINT {_ESTIMATE}")
            return 0.0
    return float(plan[0]["Plan"]["Plan Rows"])


def _fetch_fast(
    engine: Engine,
    raw: psycopg.Connection,
    sql: str,
    columns: list[_Column],
    limit: int | None,
    timeout_s: float,
    max_bytes: int | None,
) -> tuple[Any, float] | tuple[None, None]:
    """The Arrow table of the COPY path, or (None, None) when the statement needs the streaming path."""
    url = fetch.libpq_url(
        psycopg_engine(engine),
        timeout_ms=_timeout_ms(timeout_s),
        timezone_name=raw.info.parameter_status("TimeZone") or "UTC",
    )
    try:
        return fetch.fetch(url, fetch.wrap(sql, [_fast_kind(column) for column in columns], limit), max_bytes)
    except fetch.FastPathTooLarge:
        raise too_large(max_bytes or 0) from None
    except fetch.FastPathUnavailable:
        return None, None
    except fetch.FastPathError as exc:
        if exc.timeout:
            raise QueryTimeout(_timeout_message(timeout_s)) from None
        raise ExecutionError(str(exc)) from None


def _fast_kind(column: _Column) -> str | None:
    return "float4" if column.oid == pg_types["float4"].oid else _KIND_BY_OID.get(column.oid)


def _timeout_ms(timeout_s: float) -> int:
    return max(1, round(timeout_s * 1000))  # 0 would disable the timeout


def _refuse_superuser(raw: psycopg.Connection, allow_superuser: bool) -> None:
    if not allow_superuser and raw.info.parameter_status("is_superuser") == "on":
        raise ConfigError(
            f"refusing to run generated SQL as the superuser {raw.info.user}: connect as a read-only role "
            "such as paysql_reader, or pass --allow-superuser"
        )


def _check_session(
    engine: Engine, raw: psycopg.Connection, allow_superuser: bool, session: tuple[str | None, str]
) -> None:
    """Superuser powers held through membership (refused unless allowed), and unbounded temp files (told once), from
    ``session`` (``_SESSION_CHECK``'s row)."""
    powers, temp_file_limit = session
    if powers and not allow_superuser:
        raise ConfigError(
            f"refusing to run generated SQL as {raw.info.user}: it is a member of {powers} (superuser or server "
            "file/program powers): connect as a read-only role such as paysql_reader, or pass --allow-superuser"
        )
    if temp_file_limit == "-1" and not allow_superuser:
        told = (engine.url.render_as_string(hide_password=True), raw.info.user)
        if told not in _unbounded_told:
            _unbounded_told.add(told)
            warnings.warn(
                f"paysql: role {raw.info.user} runs with temp_file_limit unset: one query may fill the database "
                "server's disk with temp files until its timeout (a superuser runs: paysql grant-readonly "
                f"--role {raw.info.user} --apply, or ALTER ROLE ... SET temp_file_limit = '1GB')",
                stacklevel=4,
            )


def _begin_read_only(raw: psycopg.Connection, timeout_s: float, *, savepoint: bool) -> tuple[str | None, str]:
    """Start a READ ONLY transaction (and, with ``savepoint``, the savepoint ``_estimated_rows`` may roll back to) and
    read ``_SESSION_CHECK``'s row: one round trip (the connection is in autocommit: no BEGIN of psycopg's own)."""
    steps = ["BEGIN READ ONLY", f"SET LOCAL statement_timeout = {_timeout_ms(timeout_s)}"]
    steps += ["SET LOCAL standard_conforming_strings = on", *([f"SAVEPOINT {_ESTIMATE}"] if savepoint else [])]
    with raw.cursor(row_factory=tuple_row) as cur:
        cur.execute("; ".join([*steps, _SESSION_CHECK]))
        return cur.set_result(-1).fetchone()


def _describe(raw: psycopg.Connection, sql: str) -> list[_Column]:
    """Parse ``sql`` as the unnamed statement (one statement only) and return its result columns; run nothing."""
    pgconn, encoding = raw.pgconn, raw.info.encoding
    _raise_for(pgconn.prepare(b"", sql.encode(encoding)), encoding)
    described = pgconn.describe_prepared(b"")
    _raise_for(described, encoding)
    if described.nfields == 0:
        raise SqlRefused("the statement returns no rows: only queries are run")
    return [
        _Column(described.fname(i).decode(encoding), described.ftype(i), described.fmod(i))
        for i in range(described.nfields)
    ]


def _raise_for(result: pq.abc.PGresult, encoding: str) -> None:
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=encoding)


def _fetch(
    raw: psycopg.Connection, sql: str, limit: int | None, columns: list[_Column], max_bytes: int | None
) -> list[tuple[Any, ...]]:
    """Run ``sql`` through the extended protocol and read at most ``limit`` rows (the rest is cancelled) and at most
    ``max_bytes`` of data (``ResultTooLarge`` past it)."""
    widths = [column.width() for column in columns]
    counted = {pg_types["numeric"].oid, *_WIDTHS}  # counted by their width bound, not measured value by value
    fixed = sum(w for w, c in zip(widths, columns, strict=True) if w is not None and c.oid in counted)
    variable = [i for i, (w, c) in enumerate(zip(widths, columns, strict=True)) if w is None or c.oid not in counted]
    # a column of any width: one row at a time, so libpq never holds a chunk of huge rows past the cap
    # (see the module doc); bounded columns only: chunks of rows
    chunked = psycopg.capabilities.has_stream_chunked() and (max_bytes is None or None not in widths)
    with raw.cursor(row_factory=tuple_row) as cur, closing(cur.stream(sql, size=_CHUNK_ROWS if chunked else 1)) as rows:
        if max_bytes is None:
            return list(itertools.islice(rows, limit))
        if not variable:  # every value of a bounded width: the cap is a number of rows
            most = max_bytes // max(fixed, 1)
            out = list(itertools.islice(rows, most + 1 if limit is None else min(limit, most + 1)))
            if len(out) > most:
                raise too_large(max_bytes)
            return out
        out = []
        total = 0
        for row in itertools.islice(rows, limit):
            total += fixed + sum(_size(row[i]) for i in variable)
            if total > max_bytes:
                raise too_large(max_bytes)
            out.append(row)
        return out


def _size(value: Any) -> int:
    """What a value holds, roughly as sent: text by its length (twice for non-ASCII), bytes by theirs."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value) if value.isascii() else 2 * len(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, list | tuple):
        return 8 + sum(_size(v) for v in value)
    if isinstance(value, dict):
        return 8 + sum(_size(k) + _size(v) for k, v in value.items())
    return 16


def _reset(conn: Connection, raw: psycopg.Connection) -> None:
    """Roll back, then release what a rollback keeps (one round trip), and leave autocommit; a connection that cannot
    be cleaned is thrown away."""
    try:
        raw.execute("ROLLBACK; SELECT pg_advisory_unlock_all()")
        raw.autocommit = False
    except psycopg.Error:
        conn.invalidate()


def _frame(columns: list[_Column], rows: list[tuple[Any, ...]], timezone: tzinfo, exact_decimal: bool) -> pd.DataFrame:
    series = {
        i: _series([row[i] for row in rows], column.oid, timezone, exact_decimal) for i, column in enumerate(columns)
    }
    frame = pd.DataFrame(series, index=pd.RangeIndex(len(rows)))
    frame.columns = [column.name for column in columns]  # names as PostgreSQL gave them, duplicates included
    return frame


def _series(values: list[Any], oid: int, timezone: tzinfo, exact_decimal: bool) -> pd.Series:
    match _KIND_BY_OID.get(oid):
        case "integer":
            return pd.Series(values, dtype="Int64")
        case "numeric" if exact_decimal:
            return pd.Series(values, dtype=object)
        case "float" | "numeric":
            return pd.Series(np.array(values, dtype="float64"))
        case "string":
            return pd.Series(values, dtype="str")
        case "boolean":
            return pd.Series(values, dtype="boolean")
        case "datetime":
            return pd.Series(_nanoseconds(pd.to_datetime(values)))
        case "datetimetz":
            return pd.Series(_nanoseconds(pd.to_datetime(values, utc=True).tz_convert(timezone)))
        case _:
            return pd.Series(values, dtype=object)


def _nanoseconds(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    try:
        return index.as_unit("ns")
    except pd.errors.OutOfBoundsDatetime:  # e.g. 9999-12-31, a common "no end" date
        return index
