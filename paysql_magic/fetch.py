"""The fast fetch path: ``COPY (query) TO STDOUT (FORMAT binary)`` decoded into Arrow by the ADBC PostgreSQL driver.

Only ``paysql_magic.execute`` calls this, after it has parsed and described the statement (one statement, with
result columns) on its own READ ONLY transaction. Here the statement runs on a fresh libpq connection of the same
URL, made for this one call and closed after it, so no session state can outlive it:

- the connection starts with ``default_transaction_read_only=on``, ``statement_timeout`` and the TimeZone of the
  executor's session (``options=-c ...``), so the statement runs in a READ ONLY transaction with the same timeout
  and the same time zone semantics;
- the statement is wrapped as ``SELECT c0, c1::float8, ... FROM (<sql>\\n) AS q(c0, c1, ...) LIMIT <max_rows + 1>``.
  A statement that PostgreSQL parsed alone has balanced parentheses outside its literals and comments, and the
  newline ends a trailing ``--`` comment, so it cannot close the subquery early; on top of that the driver sends
  ``COPY (...) TO STDOUT`` through the extended protocol (``PQprepare`` / ``PQexecParams``), which takes exactly
  one statement: ``SELECT 1; COMMIT; DELETE ...`` is refused by PostgreSQL either way;
- numeric is cast to float8 on the server (PostgreSQL converts through its text form with a correctly rounded
  ``strtod``, exactly like ``float(Decimal)``), the other columns arrive in their own binary form and are mapped
  to the executor's dtypes here.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from time import perf_counter
from typing import Any
from urllib.parse import quote

import pandas as pd
from sqlalchemy import Engine

try:  # optional at import time: without the driver the executor keeps its streaming path
    import adbc_driver_manager
    import adbc_driver_postgresql
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
except ImportError:  # pragma: no cover - the driver is a declared dependency
    adbc = None

_SQLSTATE_TIMEOUT = "57014"
_SQLSTATES_TO_FALL_BACK = frozenset({"42601", "0A000"})  # the wrapper cannot hold it (SHOW, EXPLAIN, ";" ...)


# numeric -> float8 on the server: exactly float(Decimal); float4 through its shortest text, as the streaming path
# reads it (a float4 -> float8 cast would widen 0.1 to 0.10000000149011612)
_CASTS = {"numeric": "{}::float8", "float4": "{}::text::float8"}


class FastPathUnavailable(Exception):
    """The fast path cannot run this statement; the executor streams it instead."""


class FastPathTooLarge(Exception):
    """The result holds more bytes than the cap (the executor raises ``ResultTooLarge``)."""


class FastPathError(Exception):
    """The statement failed on the fast path (``timeout`` when the statement timeout cancelled it)."""

    def __init__(self, message: str, *, timeout: bool) -> None:
        super().__init__(message)
        self.timeout = timeout


def available() -> bool:
    return adbc is not None


def wrap(sql: str, kinds: list[str | None], limit: int | None) -> str:
    """The statement as a subquery with positional column aliases, numeric cast to float8, at most ``limit`` rows."""
    names = [f"c{i}" for i in range(len(kinds))]
    select = ", ".join(_CASTS.get(kind, "{}").format(n) for n, kind in zip(names, kinds, strict=True))
    body = sql.rstrip().rstrip(";").rstrip()
    limit_clause = "" if limit is None else f" LIMIT {int(limit)}"
    return f"SELECT {select} FROM (\n{body}\n) AS _paysql_q({', '.join(names)}){limit_clause}"


def libpq_url(engine: Engine, *, timeout_ms: int, timezone_name: str) -> str:
    """A libpq URI for the engine's database whose sessions start read-only, with the timeout and time zone."""
    url = engine.url.set(drivername="postgresql")
    options = f"-c default_transaction_read_only=on -c statement_timeout={int(timeout_ms)}"
    options += f" -c standard_conforming_strings=on -c TimeZone={_quote_option(timezone_name)}"
    existing = url.query.get("options")
    if existing:
        options = f"{existing if isinstance(existing, str) else ' '.join(existing)} {options}"
    rendered = url.difference_update_query(["options"]).render_as_string(hide_password=False)
    return f"{rendered}{'&' if '?' in rendered else '?'}options={quote(options, safe='')}"  # libpq: %20, not +


def _quote_option(value: str) -> str:
    return re.sub(r"([\\ ])", r"\\\1", value)


_BATCH_BYTES = 16 * 1024**2  # the driver's default batch size hint


def fetch(url: str, wrapped_sql: str, max_bytes: int | None = None) -> tuple[Any, float]:
    """Run ``wrapped_sql`` on a fresh connection and return (Arrow table, milliseconds around the statement).

    The rows arrive as Arrow record batches (at most ``_BATCH_BYTES``, an eighth of ``max_bytes`` when that is
    smaller); past ``max_bytes`` of Arrow data the read stops (``FastPathTooLarge``) and the connection is closed,
    which ends the COPY on the server."""
    try:
        conn = adbc.connect(url, autocommit=True)
    except adbc_driver_manager.Error as exc:
        raise FastPathUnavailable(_message(exc)) from None
    try:
        with conn.cursor() as cur:
            hint = _BATCH_BYTES if max_bytes is None else max(64 * 1024, min(_BATCH_BYTES, max_bytes // 8))
            cur.adbc_statement.set_options(
                **{adbc_driver_postgresql.StatementOptions.BATCH_SIZE_HINT_BYTES.value: str(hint)}
            )
            start = perf_counter()
            cur.execute(wrapped_sql)
            # the driver manager's own reader turns an error while reading into its Error with the SQLSTATE
            reader = getattr(getattr(cur, "_results", None), "reader", None) or cur.fetch_record_batch()
            batches, total = [], 0
            for batch in reader:
                total += batch.nbytes
                if max_bytes is not None and total > max_bytes:
                    raise FastPathTooLarge(total)
                batches.append(batch)
            table = pa.Table.from_batches(batches, schema=reader.schema)
            return table, (perf_counter() - start) * 1000
    except adbc_driver_manager.Error as exc:
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in _SQLSTATES_TO_FALL_BACK:
            raise FastPathUnavailable(_message(exc)) from None
        raise FastPathError(_message(exc), timeout=sqlstate == _SQLSTATE_TIMEOUT) from None
    except (OSError, pa.ArrowException) as exc:  # a reader that reports no SQLSTATE
        message = _message(exc)
        raise FastPathError(message, timeout="statement timeout" in message) from None
    finally:
        conn.close()  # the session ends: its transaction is rolled back, locks and settings die with it


def _message(exc: BaseException) -> str:
    """The server's one-line message, as psycopg would give it, from the driver's longer text."""
    text = str(exc)
    match = re.search(r"(?:ERROR|FATAL):\s+(.*)", text)
    return (match.group(1) if match else text.strip()).splitlines()[0].strip()


def frame(table: Any, names: list[str], kinds: list[str | None], timezone: tzinfo) -> pd.DataFrame:
    """The DataFrame with the executor's dtypes (see ``paysql_magic.execute``) from the Arrow table."""
    series = {i: _series(table.column(i), kind, timezone) for i, kind in enumerate(kinds)}
    result = pd.DataFrame(series, index=pd.RangeIndex(table.num_rows))
    result.columns = names
    return result


def _series(column: Any, kind: str | None, timezone: tzinfo) -> pd.Series:
    match kind:
        case "integer":
            return pd.Series(pd.Int64Dtype().__from_arrow__(column.cast(pa.int64())))
        case "float" | "float4" | "numeric":
            return pd.Series(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
        case "string":
            return column.to_pandas().astype("str")
        case "boolean":
            return pd.Series(pd.BooleanDtype().__from_arrow__(column))
        case "datetime":
            values = column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
            return pd.Series(_nanoseconds(pd.DatetimeIndex(values)))
        case "datetimetz":
            values = column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
            return pd.Series(_nanoseconds(pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(timezone)))
    raise FastPathUnavailable(f"no fast conversion for {kind}")  # pragma: no cover - guarded by FAST_KINDS


def _nanoseconds(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    try:
        return index.as_unit("ns")
    except pd.errors.OutOfBoundsDatetime:
        return index
