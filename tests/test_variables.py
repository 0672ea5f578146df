"""Notebook variables in questions: ``{name}`` reaches the SQL only as a literal sqlglot builds from the typed
value; dates, numbers, strings and lists work, and a string holding SQL stays a string."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlglot
from sqlalchemy import text

from paysql_magic import core, guard
from paysql_magic.errors import ConfigError, SqlRefused
from paysql_magic.providers.ollama import OllamaProvider
from paysql_magic.variables import bind, parameters, resolve, typed

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]

HOSTILE = "'; DROP TABLE merchants; --"


def test_a_string_holding_sql_is_bound_as_one_string_literal():
    sql = bind("SELECT count(*) FROM merchants WHERE city = :city", {"city": typed("city", HOSTILE)})
    tree = sqlglot.parse_one(sql, read="postgres")
    (literal,) = [node for node in tree.find_all(sqlglot.exp.Literal) if node.is_string]
    assert literal.this == HOSTILE
    assert len(sqlglot.parse(guard.check(sql).sql, read="postgres")) == 1  # one statement, the value inside quotes


def test_dates_numbers_and_lists_become_typed_literals():
    values = resolve("{d} {n} {cities} {ts}", {"d": date(2026, 11, 20), "n": 5, "cities": ["A", "B"], "ts": 1.5})
    sql = bind("SELECT 1 FROM t WHERE d = :d AND city IN :cities AND x = ANY(:cities) AND y > :ts LIMIT :n", values)
    assert "CAST('2026-11-20' AS DATE)" in sql
    assert "IN ('A', 'B')" in sql and "ANY(ARRAY['A', 'B'])" in sql
    assert "LIMIT 5" in sql and "y > 1.5" in sql
    assert parameters("SELECT :a, :b, :a") == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "message"),
    [([], "empty list"), (True, "True"), ([1, "a"], "mixes kinds"), (float("nan"), "finite"), ({1: 2}, "dict")],
)
def test_unusable_values_are_refused_with_the_reason(value, message):
    with pytest.raises(ConfigError, match=message):
        resolve("{v}", {"v": value})


def test_a_missing_variable_is_named():
    with pytest.raises(ConfigError, match="no variable 'city'"):
        resolve("в городе {city}", {})


def test_an_unknown_parameter_in_the_sql_is_refused():
    with pytest.raises(SqlRefused, match=":other"):
        bind("SELECT 1 FROM t WHERE a = :other", {"city": "x"})
    with pytest.raises(SqlRefused, match="no value"):
        guard.check("SELECT 1 FROM t WHERE a = :city")


def test_llm_sql_with_a_parameter_gets_the_hostile_string_as_a_string(
    ollama_server: Loopback, reader_engine, admin_engine
):
    sql = "SELECT count(*) AS n FROM merchants WHERE city = :city"
    reply = json.dumps({"sql": sql, "tables": ["merchants"], "assumptions": [], "needs_clarification": None})
    ollama_server.reply("chat", ollama_server.ollama_chat(reply))
    provider = OllamaProvider("qwen2.5-coder:7b", host=ollama_server.url)
    question = f"How many merchants are in {{city}}? ({uuid.uuid4().hex[:6]})"
    result = core.ask(question, reader_engine, provider=provider, params={"city": HOSTILE})
    assert int(result.frame["n"].iloc[0]) == 0
    sent = ollama_server.requests[-1].body["messages"][-1]["content"]
    assert ":city (text)" in sent and "How many merchants are in :city?" in sent
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM merchants")).scalar() > 0
        row = conn.execute(
            text("SELECT question, executed_sql FROM paysql.query_audit_log WHERE call_id = :c"), {"c": result.call_id}
        ).one()
    assert row.question == question and "'''; DROP TABLE merchants; --'" in row.executed_sql


@pytest.fixture
def run(shell, reader_url, monkeypatch):
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    shell.magics_manager.registry["Ask"].thread = None

    def _run(cell: str):
        return shell.run_cell(cell)

    return _run


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_string_number_and_list_variables_in_the_notebook(shell, run, reader_engine):
    shell.user_ns.update(city="Алматы", cities=["Алматы", "Астана"], n=3)
    result = run("%%ask -o one\nСколько транзакций в городе {city} за последние 7 дней?")
    assert result.success, result.error_in_exec
    expected = _scalar(
        reader_engine,
        "SELECT count(*) FROM transactions JOIN merchants USING (merchant_id) "
        "WHERE city = 'Almaty' AND transaction_ts >= current_date - 6",
    )
    assert int(shell.user_ns["one"]["total_transactions"].iloc[0]) == expected
    result = run("%ask -o two Сколько транзакций в городах {cities} за последние 7 дней")  # line magic: no expansion
    assert result.success, result.error_in_exec
    expected = _scalar(
        reader_engine,
        "SELECT count(*) FROM transactions JOIN merchants USING (merchant_id) "
        "WHERE city IN ('Almaty', 'Astana') AND transaction_ts >= current_date - 6",
    )
    assert int(shell.user_ns["two"]["total_transactions"].iloc[0]) == expected
    assert run("%%ask -o top\nТоп {n} мерчантов по объему за последние 7 дней").success
    assert len(shell.user_ns["top"]) == 3


def test_a_date_variable_is_the_day_the_question_speaks_of(shell, run, reader_engine, admin_engine):
    day = _scalar(reader_engine, "SELECT current_date - 3")
    shell.user_ns["report_day"] = day
    assert run("%%ask -o day\nСколько транзакций и какой объем {report_day}?").success
    assert run("%%ask -o before\nСколько транзакций было вчера на {report_day}?").success
    assert run("%%ask -o month\nОбъем по дням за последние 30 дней на {report_day}").success
    bounds = "transaction_ts >= :d AND transaction_ts < :d + 1"
    assert int(shell.user_ns["day"]["total_transactions"].iloc[0]) == _scalar(
        reader_engine, f"SELECT count(*) FROM transactions WHERE {bounds}", d=day
    )
    assert float(shell.user_ns["day"]["total_volume"].iloc[0]) == pytest.approx(
        float(_scalar(reader_engine, f"SELECT sum(amount_kzt) FROM transactions WHERE {bounds}", d=day))
    )
    assert int(shell.user_ns["before"]["total_transactions"].iloc[0]) == _scalar(
        reader_engine, f"SELECT count(*) FROM transactions WHERE {bounds}", d=day - timedelta(days=1)
    )
    month = shell.user_ns["month"]
    assert len(month) == 30 and str(month["day"].iloc[-1])[:10] == day.isoformat()
    with admin_engine.connect() as conn:
        question = conn.execute(text("SELECT question FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).scalar()
    assert question == "Объем по дням за последние 30 дней на {report_day}"


def test_same_values_hit_the_cache_and_other_values_do_not(shell, run, reader_engine):
    magics = shell.magics_manager.registry["Ask"]
    shell.user_ns["cur"] = "USD"
    question = f"%%ask\nСколько транзакций в валюте {{cur}} за последние {uuid.uuid4().int % 50 + 60} дней"
    assert run(question).success and not magics.last_result.cached
    assert run(question).success and magics.last_result.cached
    shell.user_ns["cur"] = "EUR"
    assert run(question).success and not magics.last_result.cached
    assert "'EUR'" in magics.last_result.sql


def test_hostile_string_with_the_offline_provider_is_declined_in_one_line(shell, run, admin_engine, capsys):
    shell.user_ns["city"] = HOSTILE
    result = run("%%ask\nСколько транзакций в городе {city}?")
    assert not result.success
    out = capsys.readouterr().out
    assert "paysql: " in out and "not a value it knows" in out and "Traceback" not in out
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM merchants")).scalar() > 0


def test_reviewed_sql_with_a_parameter_takes_the_notebook_value(shell, run):
    shell.user_ns["channel"] = "ECOM"
    assert run("%%ask --sql -o ecom\nSELECT DISTINCT channel FROM transactions WHERE channel = :channel").success
    assert list(shell.user_ns["ecom"]["channel"]) == ["ECOM"]
