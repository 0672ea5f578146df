"""The structured reply both LLM providers ask for, and how it is read back.

The model answers with a JSON object: ``sql`` (one read-only query), the ``tables`` it reads, the
``assumptions`` it made, and ``needs_clarification`` (a question back to the analyst, or null). A reply that
is not JSON is passed on as text: the core's ``extract_sql`` finds a fenced or bare query in it, and the guard
refuses prose without SQL, so nothing unparsed is ever executed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from paysql_magic.errors import Declined
from paysql_magic.guard import extract_sql

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sql": {"type": "string", "description": "One read-only PostgreSQL query (SELECT or WITH ... SELECT)."},
        "tables": {"type": "array", "items": {"type": "string"}, "description": "Tables the query reads."},
        "assumptions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Interpretations made where the question was ambiguous.",
        },
        "needs_clarification": {
            "type": ["string", "null"],
            "description": "A question for the analyst when no query can be written; null otherwise.",
        },
    },
    "required": ["sql", "tables", "assumptions", "needs_clarification"],
}

_JSON_FENCE = re.compile(r"\A\s*```(?:json)?[ \t]*\n(.*?)\n?```\s*\Z", re.S | re.I)

REPLY_INSTRUCTIONS = (
    "Reply with a JSON object only: sql (the query, no code fences), tables (the tables it reads), "
    "assumptions (how you read an ambiguous question) and needs_clarification (null, or a short question "
    "for the analyst when the question cannot be answered from the schema; then leave sql empty)."
)


def read_reply(text: str) -> str:
    """The SQL in a structured reply (bare or in a ```json fence); other text is returned as is for the core.

    Raises ``Declined`` when the model asks for clarification or returns JSON without SQL.
    """
    fenced = _JSON_FENCE.match(text)
    try:
        reply = json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return text
    if not isinstance(reply, dict):
        return text
    question = reply.get("needs_clarification")
    if isinstance(question, str) and question.strip():
        raise Declined(f"I need more detail: {one_line(question)}")
    sql = reply.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise Declined("I need more detail: the model returned no SQL for this question; rephrase it")
    return sql.strip()


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with its whitespace collapsed onto one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def sql_of_reply(text: str) -> str:
    """The SQL in any provider's reply: a structured reply's ``sql`` exactly as sent (the guard judges all of it),
    else a fenced block or SQL in prose."""
    sql = read_reply(text)
    return sql.rstrip(";").strip() if sql is not text else extract_sql(text)
