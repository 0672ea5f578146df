"""The audit log: exactly one row in ``query_audit_log`` per call, written through its own connection."""

from __future__ import annotations

import json
import os
import threading
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from paysql_magic import privileges
from paysql_magic.connection import create_if_missing, first_line
from paysql_magic.settings import env_audit_fallback

AUDIT_TABLE = "query_audit_log"
SOURCES = "('ask', 'edited', 'api', 'eval', 'check')"  # the notebook, reviewed SQL, HTTP API, evaluation, alerts

AUDIT_DDL = f"""
CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id uuid NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT session_user,
    user_name text,
    source text NOT NULL CONSTRAINT query_audit_log_source_check CHECK (source IN {SOURCES}),
    question text,
    generated_sql text,
    executed_sql text,
    provider text,
    model text,
    status text NOT NULL CHECK (status IN ('ok', 'refused', 'declined', 'error', 'cancelled')),
    success boolean NOT NULL,
    error text,
    attempts integer NOT NULL DEFAULT 1,
    cached boolean NOT NULL DEFAULT false,
    row_count integer,
    llm_time_ms double precision,
    execution_time_ms double precision,
    notebook text,
    schema_hash text,
    prev_hash text,
    row_hash text,
    parent_call_id uuid
)
"""

# The hash chain: each row's hash covers its content and the previous row's hash. Rows are numbered (id) and
# chained under one advisory lock, so the id order is the chain order even with concurrent writers.
HASH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.paysql_audit_hash(r public.{AUDIT_TABLE}) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(convert_to(coalesce(r.prev_hash, '') || (jsonb_build_array(
        r.id, r.call_id, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), r.db_user,
        r.user_name, r.source, r.question, r.generated_sql, r.executed_sql, r.provider, r.model, r.status,
        r.success, r.error, r.attempts, r.cached, r.row_count, r.llm_time_ms, r.execution_time_ms, r.notebook,
        r.schema_hash) || CASE WHEN r.parent_call_id IS NULL THEN '[]'::jsonb
                               ELSE jsonb_build_array(r.parent_call_id) END  -- rows without one hash as before
        )::text, 'UTF8')), 'hex')
$$
"""

CHAIN_FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.paysql_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('paysql-magic audit chain'));
    NEW.id := nextval(pg_get_serial_sequence('public.{AUDIT_TABLE}', 'id'));
    SELECT row_hash INTO NEW.prev_hash FROM public.{AUDIT_TABLE} ORDER BY id DESC LIMIT 1;
    NEW.row_hash := public.paysql_audit_hash(NEW);
    RETURN NEW;
END
$$
"""

CHAIN_TRIGGER = f"""
DROP TRIGGER IF EXISTS paysql_audit_chain ON {AUDIT_TABLE};
CREATE TRIGGER paysql_audit_chain BEFORE INSERT ON {AUDIT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION public.paysql_audit_chain()
"""

UPGRADE = (
    f"ALTER TABLE {AUDIT_TABLE} ADD COLUMN IF NOT EXISTS prev_hash text, ADD COLUMN IF NOT EXISTS row_hash text, "
    "ADD COLUMN IF NOT EXISTS parent_call_id uuid, DROP CONSTRAINT IF EXISTS query_audit_log_source_check, "
    f"ADD CONSTRAINT query_audit_log_source_check CHECK (source IN {SOURCES})"
)

AUDIT_COMMENT = (
    f"COMMENT ON TABLE {AUDIT_TABLE} IS "
    "'One row per paysql-magic call: question, SQL, provider, outcome and timings. Append-only.'"
)


def ensure_table(conn: Connection) -> None:
    """Create ``query_audit_log`` with its hash chain, or upgrade an older table to it (the caller commits)."""
    for statement in (AUDIT_DDL, UPGRADE, AUDIT_COMMENT, HASH_FUNCTION, CHAIN_FUNCTION, *CHAIN_TRIGGER.split(";")):
        conn.exec_driver_sql(statement)


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
    call_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def success(self) -> bool:
        return self.status == "ok"


_INSERT = text(
    f"""
    INSERT INTO {AUDIT_TABLE} (call_id, user_name, source, question, generated_sql, executed_sql,
        provider, model, status, success, error, attempts, cached, row_count, llm_time_ms,
        execution_time_ms, notebook, schema_hash, parent_call_id)
    VALUES (:call_id, :user_name, :source, :question, :generated_sql, :executed_sql,
        :provider, :model, :status, :success, :error, :attempts, :cached, :row_count, :llm_time_ms,
        :execution_time_ms, :notebook, :schema_hash, :parent_call_id)
    ON CONFLICT (call_id) DO NOTHING
    """
)


_ready: set[str] = set()
_pending: dict[str, list[AuditRecord]] = {}  # rows not written yet, by audit database URL
_lock = threading.Lock()


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _ensure_once(engine: Engine) -> None:
    key = _key(engine)
    if key in _ready:
        return
    with engine.begin() as conn:
        create_if_missing(conn, AUDIT_TABLE, ensure_table)
        if not _has_column(conn, "parent_call_id"):  # a table from an older version: its owner upgrades it
            ensure_table(conn)
    _ready.add(key)


def _has_column(conn: Connection, column: str) -> bool:
    query = "SELECT 1 FROM information_schema.columns WHERE table_name = :t AND column_name = :c"
    return conn.execute(text(query), {"t": AUDIT_TABLE, "c": column}).first() is not None


def _params(record: AuditRecord) -> dict:
    return {**asdict(record), "success": record.success}


def write(engine: Engine, record: AuditRecord) -> bool:
    """Write one audit row through its own short transaction, creating the table on first use.

    Rows that could not be written before (the database was unreachable) are written first, in the same
    transaction. A row that cannot be written is kept in memory for the next write and appended to the local
    fallback file (see ``import_fallback``). Never raises: a failure becomes one warning, so the user's cell is
    never broken by the audit; a role without the privilege to create or write the table gets one line naming the
    fix, once per process (``privileges.warn_once``). Returns whether the row was written.
    """
    key = _key(engine)
    with _lock:
        rows = [*_pending.get(key, []), record]
        try:
            _ensure_once(engine)
            with engine.begin() as conn:
                conn.execute(_INSERT, [_params(row) for row in rows])
        except Exception as exc:  # the audit must never break the caller's cell
            _pending[key] = rows
            in_file, kept = _keep(record)
            # a role without the privilege: one line naming the fix, once per process (the row is in the file)
            if not (in_file and privileges.warn_once(engine, exc, stacklevel=2)):
                warnings.warn(f"paysql: audit row not written: {first_line(exc)}; {kept}", stacklevel=2)
            return False
        _pending.pop(key, None)
    return True


def pending(engine: Engine) -> list[AuditRecord]:
    """The rows waiting in this process for the audit database behind ``engine``."""
    return list(_pending.get(_key(engine), []))


def _keep(record: AuditRecord) -> tuple[bool, str]:
    """Append ``record`` to the fallback file (mode 0600); whether it is in the file, and where the row is kept."""
    path = env_audit_fallback()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
    except OSError as exc:
        return False, f"kept in memory only ({exc.strerror}: {path})"
    return True, f"kept in memory and in {path}"


def import_fallback(engine: Engine, path: Path | None = None) -> tuple[int, int]:
    """Write the rows of the fallback file to the audit log; rows already there (same call_id) are skipped.

    Returns (rows in the file, rows written).
    """
    path = path or env_audit_fallback()
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    records = [AuditRecord(**json.loads(line)) for line in lines if line.strip()]
    if not records:
        return 0, 0
    _ensure_once(engine)
    with engine.begin() as conn:
        written = sum(conn.execute(_INSERT, _params(record)).rowcount for record in records)
    return len(records), written


_CHAIN = f"""
WITH chain AS (
    SELECT id, call_id, row_hash, prev_hash, paysql_audit_hash(q) AS expected,
        lag(row_hash) OVER (ORDER BY id) AS previous, bool_or(row_hash IS NOT NULL) OVER (ORDER BY id) AS chained
    FROM {AUDIT_TABLE} q
)
SELECT count(*) FILTER (WHERE chained) AS chained, count(*) FILTER (WHERE NOT chained) AS legacy,
    (array_agg(id ORDER BY id) FILTER (WHERE chained AND broken))[1] AS broken_id
FROM (SELECT *, row_hash IS DISTINCT FROM expected OR prev_hash IS DISTINCT FROM previous AS broken FROM chain) c
"""


@dataclass(frozen=True)
class ChainCheck:
    """The result of recomputing the hash chain: rows checked, older rows without a hash, the first broken link."""

    rows: int
    legacy: int
    broken: str | None = None  # e.g. "id 12 (call_id ...): row hash mismatch"


def verify_chain(engine: Engine) -> ChainCheck:
    """Recompute every row's hash in id order and report the first row whose hash or link does not match."""
    with engine.connect() as conn:
        counts = conn.execute(text(_CHAIN)).one()
        if counts.broken_id is None:
            return ChainCheck(counts.chained, counts.legacy)
        row = conn.execute(
            text(f"SELECT id, call_id, row_hash = paysql_audit_hash(q) AS same FROM {AUDIT_TABLE} q WHERE id = :id"),
            {"id": counts.broken_id},
        ).one()
    reason = "row hash mismatch" if not row.same else "previous row missing or changed (prev_hash mismatch)"
    return ChainCheck(counts.chained, counts.legacy, f"id {row.id} (call_id {row.call_id}): {reason}")
