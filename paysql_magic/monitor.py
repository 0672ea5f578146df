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
RECENT_CALLS = "Your recent calls"
RECENT = 10

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


def figures(engine: Engine, *, user: str | None = None) -> dict[str, pd.DataFrame]:
    """The monitoring figures of the audit log on ``engine``, by title; with ``user``, first that user's most
    recent calls (``user_name``)."""
    queries = {RECENT_CALLS: _recent(user), **_QUERIES} if user else _QUERIES
    return {title: run_query(engine, sql, max_rows=None, allow_superuser=True).frame for title, sql in queries.items()}


def fold_empty_days(frame: pd.DataFrame) -> pd.DataFrame:
    """Calls per day without the days that had none (the chart keeps them: its axis shows the gaps)."""
    return frame[frame["calls"] > 0].reset_index(drop=True)


def _recent(user: str) -> str:
    from sqlglot import exp

    name = exp.Literal.string(user).sql(dialect="postgres")  # a quoted literal, whatever the name holds
    return f"""
        SELECT created_at, source, status, left(question, 80) AS question, row_count, execution_time_ms
        FROM {AUDIT_TABLE} WHERE user_name = {name} ORDER BY id DESC LIMIT {RECENT}"""
