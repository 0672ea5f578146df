"""Follow-up questions: the offline provider applies the change to the previous intent, LLMs get the previous
questions and SQL, the magic keeps the thread (``--new`` breaks it), and the audit row links to its parent."""

from __future__ import annotations

import json
import numbers
import uuid
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sqlalchemy import text

from paysql_magic import core
from paysql_magic.followup import Previous, change, is_refinement
from paysql_magic.providers.ollama import OllamaProvider

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]

TOP_MERCHANTS = "Топ 5 мерчантов по объему за последние 7 дней"
DAILY = "Объем транзакций по дням за последние 30 дней"
YESTERDAY = "How many transactions were there yesterday?"

MERCHANTS_7D = """
    SELECT m.merchant_name, sum(t.amount_kzt) AS total_volume
    FROM transactions t JOIN merchants m USING (merchant_id)
    WHERE t.transaction_ts >= current_date - 6 {extra}
    GROUP BY m.merchant_id, m.merchant_name ORDER BY total_volume DESC LIMIT {limit}
"""
YESTERDAY_WHERE = "transaction_ts >= current_date - 1 AND transaction_ts < current_date"

# (previous questions, follow-up, direct SQL giving the same answer)
CASES = [
    ([TOP_MERCHANTS], "а теперь только по Алматы", MERCHANTS_7D.format(extra="AND m.city = 'Almaty'", limit=5)),
    ([TOP_MERCHANTS], "только отклоненные", MERCHANTS_7D.format(extra="AND t.status = 'declined'", limit=5)),
    ([TOP_MERCHANTS], "топ 3", MERCHANTS_7D.format(extra="", limit=3)),
    (
        [TOP_MERCHANTS],
        "same for last month",
        MERCHANTS_7D.format(extra="", limit=5).replace("current_date - 6", "current_date - 29"),
    ),
    (
        [TOP_MERCHANTS],
        "а теперь по каналам",
        "SELECT channel, sum(amount_kzt) AS total_volume FROM transactions WHERE transaction_ts >= current_date - 6 "
        "GROUP BY channel ORDER BY total_volume DESC LIMIT 5",
    ),
    (
        [DAILY],
        "now by week",
        "SELECT date_trunc('week', transaction_ts)::date AS week, sum(amount_kzt) AS total_volume FROM transactions "
        "WHERE transaction_ts >= current_date - 29 GROUP BY 1 ORDER BY 1",
    ),
    (
        [DAILY],
        "и только ECOM",
        "SELECT transaction_ts::date AS day, sum(amount_kzt) AS total_volume FROM transactions "
        "WHERE channel = 'ECOM' AND transaction_ts >= current_date - 29 GROUP BY 1 ORDER BY 1",
    ),
    (
        [YESTERDAY],
        "now only declined",
        f"SELECT count(*) AS total_transactions FROM transactions WHERE status = 'declined' AND {YESTERDAY_WHERE}",
    ),
    (
        [YESTERDAY],
        "by channel instead",
        f"SELECT channel, count(*) AS total_transactions FROM transactions WHERE {YESTERDAY_WHERE} "
        "GROUP BY channel ORDER BY total_transactions DESC",
    ),
    (
        [TOP_MERCHANTS, "now only declined"],
        "а теперь только по Алматы",
        MERCHANTS_7D.format(extra="AND t.status = 'declined' AND m.city = 'Almaty'", limit=5),
    ),
]


def _values(frame: pd.DataFrame) -> list[tuple]:
    """Rows as comparable tuples: numbers as rounded floats, anything else (names, dates) as text."""
    return [tuple(_plain(v) for v in row) for row in frame.itertuples(False)]


def _plain(value: object) -> object:
    if isinstance(value, numbers.Number):
        return round(float(value), 2)
    return str(pd.Timestamp(value).date()) if isinstance(value, date) else str(value)


@pytest.mark.parametrize(("before", "followup", "expected"), CASES, ids=[c[1] for c in CASES])
def test_offline_followup_applies_the_change_to_the_previous_question(before, followup, expected, reader_engine):
    assert is_refinement(followup)
    previous = Previous(tuple(before), "SELECT 1", str(uuid.uuid4()))
    result = core.ask(followup, reader_engine, previous=previous)
    assert result.row_count > 0
    assert _values(result.frame) == _values(pd.read_sql(text(expected), reader_engine))


@pytest.mark.parametrize(
    ("question", "refines"),
    [
        ("а теперь только по Алматы", True),
        ("same for last month", True),
        ("now by week", True),
        ("только отклоненные", True),
        ("А за вчера?", True),
        ("by city instead", True),
        ("топ 3", True),
        ("по неделям", True),
        ("Сколько транзакций было сегодня?", False),
        ("Топ 5 мерчантов по объему", False),
        ("Average amount by channel", False),
    ],
)
def test_refinements_are_recognised_by_their_opening(question, refines):
    assert is_refinement(question) is refines


def test_the_change_is_the_refinement_without_its_opening_words():
    assert change("а теперь только по Алматы") == "только по Алматы"
    assert change("same for last month") == "last month"
    assert change("by city instead") == "by city"


def test_llm_gets_the_previous_questions_and_sql(ollama_server: Loopback, reader_engine, admin_engine):
    first_sql = "SELECT channel, count(*) AS n FROM transactions GROUP BY channel"
    second_sql = "SELECT channel, count(*) AS n FROM transactions WHERE status = 'declined' GROUP BY channel"
    reply = json.dumps({"sql": second_sql, "tables": ["transactions"], "assumptions": [], "needs_clarification": None})
    ollama_server.reply("chat", ollama_server.ollama_chat(reply))
    provider = OllamaProvider("qwen2.5-coder:7b", host=ollama_server.url)
    tag = uuid.uuid4().hex[:6]
    previous = Previous((f"Transactions by channel ({tag})",), first_sql, str(uuid.uuid4()))
    result = core.ask("now only declined", reader_engine, provider=provider, previous=previous)
    sent = next(r for r in ollama_server.requests if r.path == "/api/chat").body["messages"][-1]["content"]
    assert f"Transactions by channel ({tag})" in sent and first_sql in sent and "Question: now only declined" in sent
    assert set(result.frame["channel"]) <= {"POS", "ECOM", "ATM"}
    with admin_engine.connect() as conn:
        row = conn.execute(
            text("SELECT parent_call_id::text AS parent FROM paysql.query_audit_log WHERE call_id = :c"),
            {"c": result.call_id},
        ).one()
    assert row.parent == previous.call_id


@pytest.fixture
def ask_magic(shell, reader_url, monkeypatch):
    """The session shell's Ask magics with a fresh thread, on the test database."""
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    magics = shell.magics_manager.registry["Ask"]
    magics.thread = None
    yield magics
    magics.thread = None


def _audit(engine, call_id: str):
    with engine.connect() as conn:
        query = "SELECT question, parent_call_id::text AS parent, status FROM paysql.query_audit_log WHERE call_id = :c"
        return conn.execute(text(query), {"c": call_id}).mappings().one()


def test_magic_threads_followups_and_links_their_audit_rows(shell, ask_magic, admin_engine, capsys):
    assert shell.run_cell(f"%%ask -o top\n{TOP_MERCHANTS}").success
    first = ask_magic.last_result
    assert shell.run_cell("%%ask -o almaty\nа теперь только по Алматы").success
    second = ask_magic.last_result
    assert shell.run_cell("%%ask\nтоп 3").success
    third = ask_magic.last_result
    out = capsys.readouterr().out
    assert f"-- follows up: {TOP_MERCHANTS}" in out
    assert f"-- follows up: {TOP_MERCHANTS} -> а теперь только по Алматы" in out
    assert "'Almaty'" in second.sql and "LIMIT 3" in third.sql and "'Almaty'" in third.sql
    assert len(shell.user_ns["almaty"]) == 5
    assert _audit(admin_engine, first.call_id)["parent"] is None
    assert _audit(admin_engine, second.call_id)["parent"] == first.call_id
    assert _audit(admin_engine, third.call_id)["parent"] == second.call_id


def test_new_starts_fresh_and_followup_needs_a_previous_answer(shell, ask_magic, admin_engine, capsys):
    result = shell.run_cell("%%ask --followup\nтолько отклоненные")
    assert not result.success
    assert "nothing to follow up" in capsys.readouterr().out
    assert shell.run_cell("%%ask\nСколько транзакций было вчера?").success
    assert shell.run_cell("%%ask --new\nТолько отклоненные транзакции за вчера").success
    fresh = ask_magic.last_result
    assert _audit(admin_engine, fresh.call_id)["parent"] is None
    assert ask_magic.thread.questions == ("Только отклоненные транзакции за вчера",)


def test_explicit_followup_flag_refines_a_question_without_an_opening(shell, ask_magic, admin_engine):
    assert shell.run_cell("%%ask\nСколько транзакций было вчера?").success
    first = ask_magic.last_result
    assert shell.run_cell("%%ask --followup\nтранзакции по каналам").success
    assert "GROUP BY" in ask_magic.last_result.sql
    assert _audit(admin_engine, ask_magic.last_result.call_id)["parent"] == first.call_id
