"""Monitoring figures from ``query_audit_log``: the tool's own fixed queries, for ``%ask_audit``.

They run through the read-only executor (a READ ONLY transaction, always rolled back) and are not audited:
they are monitoring, not questions. The superuser refusal is for generated SQL; these statements are constants.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from paysql_magic.audit import AUDIT_TABLE
from paysql_magic.execute import run_query

TOP_QUESTIONS = "Most frequent questions (top 10)"
EXECUTION_TIME = "Average execution time"
SUCCESS_RATE = "Success rate"
CALLS_PER_DAY = "Calls per day (last 30 days)"

_QUERIES = {
    TOP_QUESTIONS: f"""
        SELECT question, count(*) AS calls FROM {AUDIT_TABLE}
        WHERE question IS NOT NULL GROUP BY question ORDER BY calls DESC, question LIMIT 10""",
    EXECUTION_TIME: f"""
        SELECT round(avg(execution_time_ms)::numeric, 1) AS avg_execution_ms,
               count(execution_time_ms) AS executed_calls
        FROM {AUDIT_TABLE}""",
    SUCCESS_RATE: f"""
        SELECT count(*) AS calls, count(*) FILTER (WHERE success) AS successful,
               round(100.0 * count(*) FILTER (WHERE success) / nullif(count(*), 0), 1) AS success_rate_pct
        FROM {AUDIT_TABLE}""",
    CALLS_PER_DAY: f"""
        SELECT d::date AS day, count(a.id) AS calls
        FROM generate_series(current_date - 29, current_date, interval '1 day') AS d
        LEFT JOIN {AUDIT_TABLE} AS a ON a.created_at >= d AND a.created_at < d + interval '1 day'
        GROUP BY d ORDER BY d""",
}


def figures(engine: Engine) -> dict[str, pd.DataFrame]:
    """The four monitoring figures of the audit log on ``engine``, by title."""
    return {title: run_query(engine, sql, max_rows=None, allow_superuser=True).frame for title, sql in _QUERIES.items()}
