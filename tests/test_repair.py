"""Validation and self-correction: failed SQL goes back to the provider with the error and the closest names."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from paysql_magic import core
from paysql_magic.errors import ExecutionError
from paysql_magic.providers.scripted import ScriptedProvider

RIGHT = "SELECT sum(amount_kzt) AS total_volume FROM transactions"


def _last(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).mappings().one()


def _q(words: str) -> str:
    return f"{words} ({uuid.uuid4().hex[:8]})"


def test_unknown_column_is_repaired_with_the_closest_names(reader_engine, admin_engine):
    provider = ScriptedProvider(["SELECT sum(amout_kzt) AS total_volume FROM transactions", RIGHT])
    result = core.ask(_q("Total volume"), reader_engine, provider=provider)
    assert result.sql.startswith("SELECT\n  SUM(amount_kzt)") and result.frame["total_volume"].iloc[0] > 0
    repair = provider.prompts[1].text
    assert repair.startswith(provider.prompts[0].text)
    assert "amout_kzt" in repair and "unknown column" in repair and "transactions.amount_kzt" in repair
    row = _last(admin_engine)
    assert (row["status"], row["attempts"]) == ("ok", 2)
    assert "amount_kzt" in row["generated_sql"] and "amout_kzt" in row["error"]  # the last repaired error


@pytest.mark.parametrize(
    "wrong",
    [
        "SELECT count(*) FROM transaction",  # unknown table
        "SELECT merchant_id FROM merchants JOIN transactions USING (customer_id)",  # PostgreSQL's error
        "SELECT count(*) / 0 AS n FROM merchants",  # division by zero, at run time
        "SELECT count(* FROM merchants",  # syntax: the guard cannot parse it
    ],
)
def test_database_and_guard_errors_are_repaired(reader_engine, admin_engine, wrong):
    provider = ScriptedProvider([wrong, RIGHT])
    core.ask(_q("Total volume"), reader_engine, provider=provider)
    assert "Your previous SQL failed" in provider.prompts[1].text
    assert _last(admin_engine)["attempts"] == 2


def test_repairs_are_bounded_and_end_in_one_clear_line(reader_engine, admin_engine):
    provider = ScriptedProvider("SELECT no_such_column FROM transactions")
    with pytest.raises(ExecutionError) as raised:
        core.ask(_q("Always wrong"), reader_engine, provider=provider)
    message = str(raised.value)
    assert "\n" not in message and "no_such_column" in message and "after 3 attempts" in message
    assert len(provider.prompts) == 3
    row = _last(admin_engine)
    assert (row["status"], row["attempts"]) == ("error", 3)
    assert "no_such_column" in row["error"]

    once = ScriptedProvider("SELECT no_such_column FROM transactions")
    with pytest.raises(ExecutionError):
        core.ask(_q("Always wrong"), reader_engine, provider=once, generation=core.Generation(max_repairs=0))
    assert len(once.prompts) == 1


def test_the_offline_provider_gets_no_repair_round(reader_engine, admin_engine):
    provider = ScriptedProvider("SELECT no_such_column FROM transactions")
    provider.name = "offline"
    with pytest.raises(ExecutionError):
        core.ask(_q("Always wrong"), reader_engine, provider=provider)
    assert len(provider.prompts) == 1 and _last(admin_engine)["attempts"] == 1


@pytest.mark.parametrize("question", ["Сколько транзакций было сегодня?", "How many transactions today?"])
def test_date_literal_for_a_relative_period_is_sent_back(reader_engine, admin_engine, question):
    literal = "SELECT count(*) AS n FROM transactions WHERE transaction_ts >= '2026-11-24'"
    relative = "SELECT count(*) AS n FROM transactions WHERE transaction_ts >= current_date"
    provider = ScriptedProvider([literal, relative], model=uuid.uuid4().hex)
    result = core.ask(question, reader_engine, provider=provider)
    assert "current_date" in result.sql.lower()
    assert "date literal" in provider.prompts[1].text
    assert _last(admin_engine)["attempts"] == 2


def test_self_consistency_picks_the_most_common_result(reader_engine, admin_engine):
    replies = [
        "SELECT count(*) AS n FROM mcc_codes",
        "SELECT count(*) AS n FROM merchants",
        "SELECT count(no_such) FROM merchants",
        "SELECT count(merchant_id) AS merchants FROM merchants",
    ]
    provider = ScriptedProvider(replies)
    generation = core.Generation(samples=4)
    result = core.ask(_q("How many merchants"), reader_engine, provider=provider, generation=generation)
    assert len(provider.prompts) == 4
    assert "FROM merchants" in result.sql and int(result.frame.iloc[0, 0]) == 300
    row = _last(admin_engine)
    assert (row["status"], row["attempts"], row["row_count"]) == ("ok", 4, 1)
    assert "merchants" in row["executed_sql"]
