"""The audit log: exactly one row in ``paysql.query_audit_log`` per call, written through its own connection.

The tables, the chain and the functions are in ``store``. Here: writing a row (``write``) and a call's start
(``start``), the fallback file and its import, and checking the chain (``verify_chain``, ``anchor``).

A row can hold any text: NUL and lone surrogates, which PostgreSQL text cannot, are escaped (``pgtext``) and the
row's ``escaped`` column names the fields, so the original is recoverable (``decoded``). Each row is written in
its own short transaction (``store.write_record``: READ WRITE whatever the role's defaults, its own statement
and lock timeouts, sent with the row as one round trip), so one row the database refuses never blocks another.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from paysql_magic import pgtext, privileges, store
from paysql_magic.connection import first_line, sqlstate
from paysql_magic.errors import DatabaseUnavailable
from paysql_magic.settings import env_audit_fallback

AUDIT_TABLE = store.AUDIT  # the bare name (schema.py excludes it from introspection in any schema)
AUDIT_QUALIFIED = f"{store.SCHEMA}.{store.AUDIT}"
STARTS_QUALIFIED = f"{store.SCHEMA}.{store.STARTS}"
SOURCES = store.SOURCES
MAX_PENDING = 1_000  # rows kept in memory per audit database while it is unreachable (all are in the file)


def ensure_table(conn: Connection) -> None:
    """Create, migrate or upgrade paysql's schema with the audit log and its chain (an admin; the caller commits)."""
    store.ensure(conn)


@dataclass(frozen=True)
class AuditRecord:
    """One call, as it is written to the audit log."""

    source: str
    status: str
    question: str | None = None
    generated_sql: str | None = None
    executed_sql: str | None = None
    provider: str | None = None
    model: str | None = None
    error: str | None = None
    attempts: int = 1
    cached: bool = False
    row_count: int | None = None
    llm_time_ms: float | None = None
    execution_time_ms: float | None = None
    user_name: str | None = None
    notebook: str | None = None
    schema_hash: str | None = None
    parent_call_id: str | None = None  # a follow-up: the call whose answer it refines
    mode: str | None = None  # how the answer was made: plan (an intent compiled over the model) or sql
    result_cached: bool | None = None  # True: the rows came from the API's result cache (None otherwise)
    call_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def success(self) -> bool:
        return self.status == "ok"


_FIELDS = tuple(f.name for f in fields(AuditRecord))
TEXT_FIELDS = (
    "question", "generated_sql", "executed_sql", "provider", "model", "error", "user_name", "notebook",
    "schema_hash", "source", "status",
)  # fmt: skip
_FLOATS = ("llm_time_ms", "execution_time_ms")


def stored(record: AuditRecord) -> dict[str, Any]:
    """The row as it is stored (and kept in the fallback file): text PostgreSQL can hold, ``escaped`` naming the
    fields that were escaped, non-finite timings as NULL."""
    values: dict[str, Any] = {**asdict(record), "success": record.success}
    escaped = []
    for name in TEXT_FIELDS:
        value = values[name]
        if value is not None and not isinstance(value, str):
            value = values[name] = str(value)
        if value is not None and (safe := pgtext.escape(value)) is not None:
            values[name] = safe
            escaped.append(name)
    for name in _FLOATS:
        if isinstance(values[name], float) and not math.isfinite(values[name]):
            values[name] = None
    values["escaped"] = escaped or None
    return values


def decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row (from the table or the fallback file) with its escaped fields back as they were given."""
    out = dict(row)
    for name in out.get("escaped") or ():
        if isinstance(out.get(name), str):
            out[name] = pgtext.unescape(out[name])
    return out


def _record(row: Mapping[str, Any]) -> AuditRecord:
    """The record of a fallback file line (fields a later version added are ignored)."""
    values = decoded(row)
    return AuditRecord(**{name: values[name] for name in _FIELDS if name in values})


_LEGACY_INSERT = text(
    f"""
    INSERT INTO {store.LEGACY_SCHEMA}.{store.AUDIT} (call_id, user_name, source, question, generated_sql, executed_sql,
        provider, model, status, success, error, attempts, cached, row_count, llm_time_ms,
        execution_time_ms, notebook, schema_hash, parent_call_id)
    VALUES (:call_id, :user_name, :source, :question, :generated_sql, :executed_sql,
        :provider, :model, :status, :success, :error, :attempts, :cached, :row_count, :llm_time_ms,
        :execution_time_ms, :notebook, :schema_hash, :parent_call_id)
    ON CONFLICT (call_id) DO NOTHING
    """
)

_pending: dict[str, list[AuditRecord]] = {}  # rows not written yet, by audit database URL
_lock = threading.Lock()
_MOVED = ("42P01", "42883")  # undefined table, undefined function: an admin moved the tables while this ran
_TRANSIENT = ("55P03", "57014", "25006", "40001", "40P01", "53300", "57P01", "57P03")  # lock / statement timeout,
# read-only (a standby), serialization, deadlock, too many connections, shutdown: worth another try later


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _transient(exc: BaseException) -> bool:
    """Whether writing the row again later may work (the database is down, busy or not granted yet), as opposed to
    a row the database refuses whatever happens."""
    if isinstance(exc, DatabaseUnavailable) or privileges.is_denied(exc):
        return True
    code = sqlstate(exc)
    if code in _TRANSIENT or code in _MOVED or (code or "").startswith("08"):
        return True
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and code is None  # no connection at all


def _write_one(engine: Engine, record: AuditRecord) -> bool:
    """Write one row in its own transaction; False when its call_id is already in the log."""
    params = stored(record)
    for attempt in (1, 2):
        location = store.locate(engine)
        try:
            if not location.legacy:
                return store.write_record(engine, "audit_write", params)
            with store.write_transaction(engine) as conn:
                legacy = {k: v for k, v in params.items() if k != "escaped"}
                return conn.execute(_LEGACY_INSERT, legacy).rowcount > 0
        except SQLAlchemyError as exc:
            if attempt == 1 and sqlstate(exc) in _MOVED:
                store.forget(engine)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def write(engine: Engine, record: AuditRecord) -> bool:
    """Write one audit row, creating paysql's schema on first use when the role may. Never raises; returns
    whether the row was written.

    Rows that could not be written before (the database was unreachable) are written first, each in its own
    transaction. A row that cannot be written goes to the local fallback file (see ``import_fallback``) and, when
    a later try may work, stays in memory for the next write; a row the database refuses whatever happens is not
    retried. A failure is one warning, so the user's cell is never broken by the audit; a role without the
    privilege to create or write paysql's tables gets one line naming the fix, once per process
    (``privileges.warn_once``). A held lock costs at most ``store.LOCK_TIMEOUT_MS``, once per call.
    """
    key = _key(engine)
    with _lock:
        queued = _pending.pop(key, [])
    kept: list[AuditRecord] = []
    failure: BaseException | None = None
    for row in queued:
        if failure is None:
            try:
                _write_one(engine, row)
                continue
            except Exception as exc:
                if not _transient(exc):
                    continue  # refused for good: it is in the fallback file, `paysql audit import` reports it
                failure = exc
        kept.append(row)
    retry = True
    if failure is None:
        try:
            _write_one(engine, record)
            return True
        except Exception as exc:  # the audit must never break the caller's cell
            failure, retry = exc, _transient(exc)
    finally_kept = [*kept, record] if retry else kept
    with _lock:
        _pending[key] = [*finally_kept, *_pending.get(key, [])][-MAX_PENDING:]
    in_file, where = _keep(record)
    if retry:
        where = f"kept in memory and in {where}" if in_file else f"kept in memory only ({where})"
    else:
        where = f"kept in {where}, not retried" if in_file else f"lost ({where})"
    # a role without the privilege: one line naming the fix, once per process (the row is in the file)
    if not (in_file and privileges.warn_once(engine, failure, stacklevel=2)):
        warnings.warn(f"paysql: audit row not written: {_reason(failure)}; {where}", stacklevel=2)
    return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SQLAlchemyError | DatabaseUnavailable):
        return first_line(exc)
    return f"{type(exc).__name__}: {exc}"


_starts_off: dict[str, float] = {}  # audit databases where a start could not be written, until when not to try
_STARTS_RETRY_S = 60.0


def start(engine: Engine, record: AuditRecord) -> None:
    """Record that the call ``record`` started (``paysql.call_starts``), so a call that never finishes is visible.
    Best effort: never raises, never queued (the call's own row is the one that counts); after a failure the
    starts of that database are not tried for a minute, so an unreachable or ungranted store costs one try."""
    key = _key(engine)
    if _starts_off.get(key, 0.0) > time.monotonic():
        return
    try:
        if store.locate(engine).legacy:
            return
        values = stored(record)
        fields_ = ("call_id", "user_name", "source", "question", "generated_sql", "notebook", "escaped")
        starts = {name: values[name] for name in fields_}
        starts["escaped"] = [name for name in values["escaped"] or () if name in fields_] or None
        store.write_record(engine, "audit_start", starts)
    except Exception:  # the audit row at the end still says what happened
        _starts_off[key] = time.monotonic() + _STARTS_RETRY_S


def pending(engine: Engine) -> list[AuditRecord]:
    """The rows waiting in this process for the audit database behind ``engine``."""
    return list(_pending.get(_key(engine), []))


def _keep(record: AuditRecord) -> tuple[bool, str]:
    """Append ``record`` to the fallback file (mode 0600, UTF-8, one JSON object a line, in its stored form);
    whether it is in the file, and the file (or why not)."""
    path = env_audit_fallback()
    try:
        line = json.dumps(stored(record), ensure_ascii=False) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line)
    except OSError as exc:
        return False, f"{exc.strerror}: {path}"
    except Exception as exc:  # never lose the reason
        return False, f"{type(exc).__name__}: {exc}: {path}"
    return True, str(path)


@dataclass(frozen=True)
class ImportResult:
    """``import_fallback``: rows in the file, written now, already in the log, and those not imported (why)."""

    found: int
    written: int
    present: int
    failed: tuple[str, ...] = ()  # "line 4 (call_id ...): reason"


def import_fallback(engine: Engine, path: Path | None = None) -> ImportResult:
    """Write the rows of the fallback file to the audit log, row by row; rows already there (same call_id) are
    skipped, so importing twice is harmless, and a row that cannot be written is reported, not fatal."""
    path = path or env_audit_fallback()
    lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines() if path.exists() else []
    found = written = present = 0
    failed: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        found += 1
        where = f"line {number}"
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            record = _record(row)
            where += f" (call_id {record.call_id})"
            if _write_one(engine, record):
                written += 1
            else:
                present += 1
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            failed.append(f"{where}: {_reason(exc)}")
    return ImportResult(found, written, present, tuple(failed))


# --- checking the chain -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The end of the chain at one moment: how many chained rows, the last one's id and hash. Exported
    (``paysql audit anchor``) and kept elsewhere, it lets ``verify_chain`` prove later that no row up to it
    was deleted or changed, even by someone who could rewrite the head."""

    rows: int
    last_id: int | None
    last_hash: str | None
    at: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, value: str) -> Anchor:
        data = json.loads(value)
        return cls(int(data["rows"]), data.get("last_id"), data.get("last_hash"), data.get("at"))


_CHAIN = """
WITH chain AS (
    SELECT id, call_id, row_hash, prev_hash, {hash}(q) AS expected,
        lag(row_hash) OVER (ORDER BY id) AS previous, bool_or(row_hash IS NOT NULL) OVER (ORDER BY id) AS chained
    FROM {table} q
)
SELECT count(*) FILTER (WHERE chained) AS chained, count(*) FILTER (WHERE NOT chained) AS legacy,
    (array_agg(id ORDER BY id) FILTER (WHERE chained AND broken))[1] AS broken_id,
    max(id) FILTER (WHERE chained) AS last_id
FROM (SELECT *, row_hash IS DISTINCT FROM expected OR prev_hash IS DISTINCT FROM previous AS broken FROM chain) c
"""


@dataclass(frozen=True)
class ChainCheck:
    """The result of recomputing the hash chain: rows checked, older rows without a hash, the first broken link
    (or the end that does not match the head or the anchor), and the calls started and never finished."""

    rows: int
    legacy: int
    broken: str | None = None  # e.g. "id 12 (call_id ...): row hash mismatch"
    unfinished: tuple[tuple[str, str], ...] = ()  # (call_id, started_at) of calls with a start and no row
    anchored: bool = False  # an anchor was given and matches


def _names(location: store.Store) -> tuple[str, str]:
    if location.legacy:
        return f"{store.LEGACY_SCHEMA}.{store.AUDIT}", f"{store.LEGACY_SCHEMA}.paysql_audit_hash"
    return AUDIT_QUALIFIED, f"{store.SCHEMA}.audit_hash"


def verify_chain(engine: Engine, anchor: Anchor | None = None) -> ChainCheck:
    """Recompute every row's hash in id order and report the first row whose hash or link does not match; then
    the end of the chain against its head (deleted newest rows) and, when given, against an exported anchor."""
    location = store.locate(engine)
    table, hash_function = _names(location)
    with engine.connect() as conn:
        counts = conn.execute(text(_CHAIN.format(table=table, hash=hash_function))).one()
        if counts.broken_id is not None:
            row = conn.execute(
                text(f"SELECT id, call_id, row_hash = {hash_function}(q) AS same FROM {table} q WHERE id = :id"),
                {"id": counts.broken_id},
            ).one()
            reason = "row hash mismatch" if not row.same else "previous row missing or changed (prev_hash mismatch)"
            return ChainCheck(counts.chained, counts.legacy, f"id {row.id} (call_id {row.call_id}): {reason}")
        if location.legacy:
            return ChainCheck(counts.chained, counts.legacy)
        unfinished = tuple(
            (str(r.call_id), f"{r.started_at:%Y-%m-%d %H:%M:%S%z}")
            for r in conn.execute(text(f"SELECT call_id, started_at FROM {store.SCHEMA}.audit_unfinished(NULL)"))
        )
        end = _end_mismatch(conn, table, counts)
        if end is None and anchor is not None:
            end = _anchor_mismatch(conn, table, anchor)
    return ChainCheck(counts.chained, counts.legacy, end, unfinished, anchored=anchor is not None and end is None)


def _end_mismatch(conn: Connection, table: str, counts) -> str | None:
    head = conn.execute(text(f"SELECT rows, last_id, last_hash FROM {store.SCHEMA}.{store.HEAD} WHERE id = 1")).first()
    if head is None:
        return "the end: the chain's head row is missing" if counts.chained else None
    last_hash = None
    if counts.last_id is not None:
        last_hash = conn.execute(text(f"SELECT row_hash FROM {table} WHERE id = :id"), {"id": counts.last_id}).scalar()
    if (head.rows, head.last_id, head.last_hash) == (counts.chained, counts.last_id, last_hash):
        return None
    held = f"the log holds {counts.chained} up to id {counts.last_id}"
    recorded = f"the head records {head.rows} rows up to id {head.last_id}"
    if head.last_id is not None and (counts.last_id is None or counts.last_id < head.last_id):
        return f"the end: the newest rows were deleted ({recorded}, {held})"
    if head.rows != counts.chained:
        return f"the end: rows were deleted ({recorded}, {held})"
    return f"the end: the last row's hash is not the head's ({recorded})"


def _anchor_mismatch(conn: Connection, table: str, anchor: Anchor) -> str | None:
    if anchor.last_id is None:
        return None
    row = conn.execute(
        text(
            f"SELECT (SELECT row_hash FROM {table} WHERE id = :id) AS hash, "
            f"(SELECT count(*) FROM {table} WHERE id <= :id AND row_hash IS NOT NULL) AS rows"
        ),
        {"id": anchor.last_id},
    ).one()
    exported = (
        f"the anchor{' of ' + anchor.at if anchor.at else ''} records {anchor.rows} rows up to id {anchor.last_id}"
    )
    if row.hash is None:
        return f"the anchor: row id {anchor.last_id} is missing ({exported})"
    if row.hash != anchor.last_hash:
        return f"the anchor: row id {anchor.last_id} has another hash than the anchor's ({exported})"
    if row.rows != anchor.rows:
        return f"the anchor: {row.rows} rows up to id {anchor.last_id} ({exported})"
    return None


def anchor(engine: Engine) -> Anchor:
    """The chain's end now, from its head (an admin or auditor)."""
    if store.locate(engine).legacy:
        raise DatabaseUnavailable("this audit log is in public: run paysql grant-readonly --apply first (it moves it)")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT rows, last_id, last_hash, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                f"AS at FROM {store.SCHEMA}.{store.HEAD} WHERE id = 1"
            )
        ).first()
    return Anchor(0, None, None) if row is None else Anchor(row.rows, row.last_id, row.last_hash, row.at)
