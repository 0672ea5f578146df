"""Monitoring figures from the audit log: the tool's own fixed queries, for ``%ask_audit`` and ``GET /api/stats``.

They read through paysql's functions, which return what the caller may see: ``paysql.audit_calls(caller)`` the
caller's own calls (its database role; on the API, narrowed to the key's name or the token's ``sub``) and
``paysql.audit_activity()`` every call without its text, for the aggregate figures; an auditor (``paysql
grant-readonly --auditor ROLE``) sees every call in both. A database whose audit log is still in ``public`` (not
migrated yet) is read as before.

They run through the read-only executor (a READ ONLY transaction, always rolled back) and are not audited: they
are monitoring, not questions. The superuser refusal is for generated SQL; these statements are constants.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from paysql_magic import store
from paysql_magic.execute import run_query

TOP_QUESTIONS = "Most frequent questions (top 10)"
EXECUTION_TIME = "Average execution time"
SUCCESS_RATE = "Success rate"
CALLS_PER_DAY = "Calls per day (last 30 days)"
UNFINISHED = "Calls started and not finished"
RECENT_CALLS = "Your recent calls"
RECENT = 10

_TEMPLATES = {
    TOP_QUESTIONS: """
        SELECT question, count(*) AS calls FROM {calls}
        WHERE question IS NOT NULL GROUP BY question ORDER BY calls DESC, question LIMIT 10""",
    EXECUTION_TIME: """
        SELECT round(avg(execution_time_ms)::numeric, 1) AS avg_execution_ms,
               count(execution_time_ms) AS executed_calls
        FROM {activity}""",
    SUCCESS_RATE: """
        SELECT count(*) AS calls, count(*) FILTER (WHERE success) AS successful,
               round(100.0 * count(*) FILTER (WHERE success) / nullif(count(*), 0), 1) AS success_rate_pct
        FROM {activity}""",
    CALLS_PER_DAY: """
        SELECT d::date AS day, count(a.created_at) AS calls
        FROM generate_series(current_date - 29, current_date, interval '1 day') AS d
        LEFT JOIN {activity} AS a ON a.created_at >= d AND a.created_at < d + interval '1 day'
        GROUP BY d ORDER BY d""",
    UNFINISHED: """
        SELECT call_id::text AS call_id, started_at, user_name, source, left(coalesce(question, generated_sql), 80)
            AS question
        FROM {unfinished} ORDER BY started_at DESC LIMIT 10""",
}


def _literal(value: str | None) -> str:
    """A SQL literal for a caller's name (the executor runs with standard_conforming_strings on)."""
    return "NULL" if value is None else "'" + value.replace("\x00", "").replace("'", "''") + "'"


_RECENT = """
        SELECT created_at, source, status, left(question, 80) AS question, row_count, execution_time_ms
        FROM {recent} ORDER BY id DESC LIMIT {limit}"""


def queries(engine: Engine, caller: str | None = None, *, user: str | None = None) -> dict[str, str]:
    """The figures' SQL for the audit log behind ``engine`` and the caller (None: the database role's calls); with
    ``user``, first the most recent calls that name that user (``user_name``) among the caller's."""
    location = store.locate(engine)
    recent = {RECENT_CALLS: _RECENT} if user else {}
    if location.legacy:
        table = location.table(store.AUDIT)
        names = {"calls": table, "activity": table, "recent": f"{table} WHERE user_name = {_literal(user)}"}
        templates = {title: sql for title, sql in _TEMPLATES.items() if title != UNFINISHED}
    else:
        names = {
            "calls": f"{store.SCHEMA}.audit_calls({_literal(caller)})",
            "activity": f"{store.SCHEMA}.audit_activity()",
            "unfinished": f"{store.SCHEMA}.audit_unfinished({_literal(caller)})",
            "recent": f"{store.SCHEMA}.audit_calls({_literal(caller)}) WHERE user_name = {_literal(user)}",
        }
        templates = _TEMPLATES
    return {title: sql.format(**names, limit=RECENT) for title, sql in {**recent, **templates}.items()}


def figures(engine: Engine, caller: str | None = None, *, user: str | None = None) -> dict[str, pd.DataFrame]:
    """The monitoring figures of the audit log on ``engine``, by title (``caller``: the API caller whose calls to
    list; None in a notebook, where the database role is the caller); with ``user``, first that user's most recent
    calls (``user_name``)."""
    return {
        title: run_query(engine, sql, max_rows=None, allow_superuser=True).frame
        for title, sql in queries(engine, caller, user=user).items()
    }


def fold_empty_days(frame: pd.DataFrame) -> pd.DataFrame:
    """Calls per day without the days that had none (the chart keeps them: its axis shows the gaps)."""
    return frame[frame["calls"] > 0].reset_index(drop=True)
