"""The executor: run one statement read-only and return a DataFrame, safely even if the guard were wrong.

Every call:

- refuses a superuser connection unless ``allow_superuser`` (a superuser's READ ONLY transaction still runs
  ``COPY ... TO PROGRAM`` and reads server files);
- runs on psycopg 3, whatever driver the engine names: a ``postgresql+psycopg2://`` engine is swapped for the
  shared psycopg 3 engine of the same URL, because psycopg2 sends everything through the simple query protocol,
  where ``SELECT 1; COMMIT; DELETE ...`` runs three statements;
- opens a READ ONLY transaction with ``SET LOCAL statement_timeout``;
- parses and describes the SQL as the unnamed statement of the extended query protocol (``PQprepare``, which
  takes exactly one statement) and refuses a statement without result columns (SET, COPY, LISTEN, PREPARE ...)
  before anything runs;
- runs it through ``Cursor.stream()``, which always uses the extended protocol. (``Cursor.execute()`` without
  parameters uses the simple protocol, which runs every statement in the string: psycopg/_cursor_base.py,
  ``_execute_send``: ``elif force_extended or query.params or fmt == BINARY: send_query_params(...)``,
  ``else: send_query(...)``. An empty parameter tuple is no way out: it dumps to an empty, false ``params``,
  and it makes psycopg read every ``%`` in the SQL as a placeholder.)
  Rows arrive in chunks, and at most ``max_rows + 1`` are read (the extra one tells ``truncated``);
- always rolls back, then releases session advisory locks, which a rollback keeps. Settings changed by the
  statement (``set_config(..., false)``) are undone by the rollback; PREPARE, DECLARE and LISTEN have no result
  columns, so they never run. A connection that cannot be cleaned is invalidated: its state dies with it.

Column types decide the dtypes, from the result's type OIDs, on every path (empty results too): integers ->
``Int64``; numeric and floats -> ``float64`` (``exact_decimal`` keeps numeric as ``decimal.Decimal``);
timestamptz -> ``datetime64[ns, <session TimeZone>]``; timestamp and date -> ``datetime64[ns]`` (values
past 2262 keep a coarser unit); text, varchar and char -> ``str``; bool -> ``boolean``; anything else stays
as psycopg loads it (``object``). NULLs become NA / NaN / NaT.
"""

from __future__ import annotations

import itertools
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

from paysql_magic.connection import connect, engine_for, first_line
from paysql_magic.errors import ConfigError, ExecutionError, QueryTimeout, SqlRefused

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


def run_query(
    engine: Engine,
    sql: str,
    *,
    timeout_s: float = 30.0,
    max_rows: int | None = 1000,
    exact_decimal: bool = False,
    allow_superuser: bool = False,
) -> QueryResult:
    """Run ``sql`` (one statement) in a READ ONLY transaction that is always rolled back; see the module doc."""
    with connect(_psycopg_engine(engine)) as conn:
        raw: psycopg.Connection = conn.connection.driver_connection
        _refuse_superuser(raw, allow_superuser)
        timezone = raw.info.timezone
        try:
            _begin_read_only(raw, timeout_s)
            columns = _describe(raw, sql)
            start = perf_counter()
            rows = _fetch(raw, sql, None if max_rows is None else max_rows + 1)
            elapsed_ms = (perf_counter() - start) * 1000
        except psycopg.errors.QueryCanceled:
            raise QueryTimeout(f"query cancelled after {timeout_s:g} s statement timeout") from None
        except psycopg.Error as exc:
            raise ExecutionError(first_line(exc)) from None
        finally:
            _reset(conn, raw)
    truncated = max_rows is not None and len(rows) > max_rows
    rows = rows[:max_rows] if truncated else rows
    return QueryResult(_frame(columns, rows, timezone, exact_decimal), len(rows), truncated, elapsed_ms)


def _psycopg_engine(engine: Engine) -> Engine:
    """``engine`` when it runs on psycopg 3, else the shared psycopg 3 engine for the same URL."""
    if engine.dialect.driver == "psycopg":
        return engine
    return engine_for(engine.url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))


def _refuse_superuser(raw: psycopg.Connection, allow_superuser: bool) -> None:
    if not allow_superuser and raw.info.parameter_status("is_superuser") == "on":
        raise ConfigError(
            f"refusing to run generated SQL as the superuser {raw.info.user}: connect as a read-only role "
            "such as paysql_reader, or pass --allow-superuser"
        )


def _begin_read_only(raw: psycopg.Connection, timeout_s: float) -> None:
    """Start a READ ONLY transaction (psycopg sends BEGIN itself unless the connection is in autocommit)."""
    start = "BEGIN READ ONLY" if raw.autocommit else "SET TRANSACTION READ ONLY"
    timeout_ms = max(1, round(timeout_s * 1000))  # 0 would disable the timeout
    raw.execute(f"{start}; SET LOCAL statement_timeout = {timeout_ms}; SET LOCAL standard_conforming_strings = on")


def _describe(raw: psycopg.Connection, sql: str) -> list[_Column]:
    """Parse ``sql`` as the unnamed statement (one statement only) and return its result columns; run nothing."""
    pgconn, encoding = raw.pgconn, raw.info.encoding
    _raise_for(pgconn.prepare(b"", sql.encode(encoding)), encoding)
    described = pgconn.describe_prepared(b"")
    _raise_for(described, encoding)
    if described.nfields == 0:
        raise SqlRefused("the statement returns no rows: only queries are run")
    return [_Column(described.fname(i).decode(encoding), described.ftype(i)) for i in range(described.nfields)]


def _raise_for(result: pq.abc.PGresult, encoding: str) -> None:
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=encoding)


def _fetch(raw: psycopg.Connection, sql: str, limit: int | None) -> list[tuple[Any, ...]]:
    """Run ``sql`` through the extended protocol and read at most ``limit`` rows (the rest is cancelled)."""
    size = _CHUNK_ROWS if psycopg.capabilities.has_stream_chunked() else 1
    with raw.cursor(row_factory=tuple_row) as cur, closing(cur.stream(sql, size=size)) as rows:
        return list(itertools.islice(rows, limit))


def _reset(conn: Connection, raw: psycopg.Connection) -> None:
    """Roll back, then release what a rollback keeps; a connection that cannot be cleaned is thrown away."""
    try:
        raw.rollback()
        raw.execute("SELECT pg_advisory_unlock_all()")
        raw.rollback()
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
