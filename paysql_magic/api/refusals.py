"""Audit rows for API calls refused before the core saw them (auth, rate limit, size, a malformed body).

The core writes the row of every call it handles; these are the calls it never got, so the audit log still
has one row per ``POST /api/query``, ``POST /api/sql`` or ``POST /api/jobs`` (a job's own row is its worker's).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from paysql_magic import audit
from paysql_magic.audit import AuditRecord

# path -> audit source, as the core records them
AUDITED = {"/api/query": "api", "/api/sql": "edited", "/api/jobs": "api"}


def may_audit(limit: Any, client: tuple[str, int] | None, caller: Any | None) -> bool:
    """Refusals are audited at most at the rate limit per caller: per key or token subject once authenticated,
    per client address before (the peer's address: a forwarded one only from a trusted proxy). No flooding the
    audit log with refused requests, and no using up another caller's allowance."""
    who = caller.rate_key if caller is not None else f"address:{(client or ('unknown', 0))[0]}"
    return limit.hit(f"refused:{who}") is None


def body_fields(body: bytes | None) -> dict[str, Any]:
    """The JSON object of a request body, or {} when it is not one."""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def record(store: Engine, path: str, user: str | None, fields: dict[str, Any], status: str, error: str) -> None:
    """One audit row for a refused call to ``path`` (nothing for paths that are not audited)."""
    source = AUDITED.get(path)
    if source is None:
        return
    question, sql = fields.get("question"), fields.get("sql")
    audit.write(
        store,
        AuditRecord(
            source=source,
            status=status,
            question=question[:2_000] if isinstance(question, str) else None,
            generated_sql=sql[:10_000] if isinstance(sql, str) else None,
            error=error,
            attempts=0,
            user_name=user,
        ),
    )
