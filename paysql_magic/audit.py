"""The audit log: exactly one row in ``query_audit_log`` per call, written through its own connection."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, Engine, text

from paysql_magic.connection import create_if_missing, first_line

AUDIT_TABLE = "query_audit_log"

AUDIT_DDL = f"""
CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id uuid NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT session_user,
    user_name text,
    source text NOT NULL CHECK (source IN ('ask', 'edited', 'api', 'eval')),
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
    schema_hash text
)
"""

AUDIT_COMMENT = (
    f"COMMENT ON TABLE {AUDIT_TABLE} IS "
    "'One row per paysql-magic call: question, SQL, provider, outcome and timings. Append-only.'"
)


def ensure_table(conn: Connection) -> None:
    """Create ``query_audit_log`` if it does not exist (the caller commits)."""
    conn.execute(text(AUDIT_DDL))
    conn.execute(text(AUDIT_COMMENT))


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
    call_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def success(self) -> bool:
        return self.status == "ok"


_INSERT = text(
    f"""
    INSERT INTO {AUDIT_TABLE} (call_id, user_name, source, question, generated_sql, executed_sql,
        provider, model, status, success, error, attempts, cached, row_count, llm_time_ms,
        execution_time_ms, notebook, schema_hash)
    VALUES (:call_id, :user_name, :source, :question, :generated_sql, :executed_sql,
        :provider, :model, :status, :success, :error, :attempts, :cached, :row_count, :llm_time_ms,
        :execution_time_ms, :notebook, :schema_hash)
    ON CONFLICT (call_id) DO NOTHING
    """
)


_ready: set[str] = set()


def _ensure_once(engine: Engine) -> None:
    key = engine.url.render_as_string(hide_password=False)
    if key in _ready:
        return
    with engine.begin() as conn:
        create_if_missing(conn, AUDIT_TABLE, ensure_table)
    _ready.add(key)


def write(engine: Engine, record: AuditRecord) -> bool:
    """Write one audit row through its own short transaction, creating the table on first use.

    Never raises: a failure becomes a warning, so the user's cell is never broken by the audit.
    Returns whether the row was written.
    """
    try:
        _ensure_once(engine)
        with engine.begin() as conn:
            conn.execute(_INSERT, {**asdict(record), "success": record.success})
    except Exception as exc:  # the audit must never break the caller's cell
        warnings.warn(f"paysql: audit row not written: {first_line(exc)}", stacklevel=2)
        return False
    return True
