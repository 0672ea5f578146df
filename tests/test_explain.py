"""--explain: deterministic explanations from the SQL (worded by the semantic model), remote ones through the real
clients, and the magic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from paysql_magic.demo import demo_model
from paysql_magic.errors import ProviderError
from paysql_magic.explain import describe, explain, language
from paysql_magic.providers.gemini import GeminiProvider
from paysql_magic.providers.ollama import OllamaProvider
from paysql_magic.providers.scripted import ScriptedProvider
from paysql_magic.semantic import SemanticModel, from_document

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]

COUNT_TODAY = (
    "SELECT COUNT(*) AS total_transactions FROM transactions "
    "WHERE transaction_ts >= CURRENT_DATE AND transaction_ts < (CURRENT_DATE + 1) LIMIT 1000"
)
TOP_MERCHANTS = (
    "SELECT m.merchant_name, SUM(t.amount_kzt) AS total_volume FROM transactions AS t "
    "JOIN merchants AS m USING (merchant_id) GROUP BY m.merchant_id, m.merchant_name "
    "ORDER BY total_volume DESC LIMIT 10"
)
DAILY_VOLUME = (
    "SELECT CAST(transaction_ts AS DATE) AS day, SUM(amount_kzt) AS total_volume FROM transactions "
    "WHERE transaction_ts >= (CURRENT_DATE - 29) GROUP BY day ORDER BY day"
)
DECLINED_SHARE = (
    "SELECT ROUND(100.0 * COUNT(*) FILTER(WHERE status = 'declined') / NULLIF(COUNT(*), 0), 2) AS declined_share "
    "FROM transactions WHERE transaction_ts >= (CURRENT_DATE - 1) AND transaction_ts < CURRENT_DATE"
)
DECLINED_WEEK = (
    "SELECT COUNT(*) AS total_transactions, SUM(amount_kzt) AS total_volume FROM transactions "
    "WHERE status = 'declined' AND transaction_ts >= (CURRENT_DATE - 6)"
)


@pytest.mark.parametrize(
    ("sql", "lang", "expected"),
    [
        (COUNT_TODAY, "ru", "Запрос считает число транзакций за сегодня в таблице transactions. Не более 1000 строк."),
        (
            COUNT_TODAY,
            "en",
            "The query computes the number of transactions for today from the transactions table. At most 1000 rows.",
        ),
        (
            TOP_MERCHANTS,
            "ru",
            "Запрос считает объем в тенге по merchant_id, merchant_name в таблицах transactions, merchants. "
            "Топ-10 по total_volume.",
        ),
        (
            TOP_MERCHANTS,
            "en",
            "The query computes volume in KZT by merchant_id, merchant_name from tables transactions, merchants. "
            "Top 10 by total_volume.",
        ),
        (
            DAILY_VOLUME,
            "ru",
            "Запрос считает объем в тенге по дням за последние 30 дней в таблице transactions. Сортировка по day.",
        ),
        (
            DAILY_VOLUME,
            "en",
            "The query computes volume in KZT by day for the last 30 days from the transactions table. Ordered by day.",
        ),
        (
            DECLINED_SHARE,
            "ru",
            "Запрос считает долю (%) строк с условием status = 'declined' за вчера в таблице transactions.",
        ),
        (
            DECLINED_SHARE,
            "en",
            "The query computes the share (%) of rows with status = 'declined' for yesterday "
            "from the transactions table.",
        ),
        (
            DECLINED_WEEK,
            "ru",
            "Запрос считает число транзакций и объем в тенге за последние 7 дней в таблице transactions. "
            "Условия: status = 'declined'.",
        ),
    ],
    ids=[
        "count-today-ru",
        "count-today-en",
        "top10-ru",
        "top10-en",
        "daily-ru",
        "daily-en",
        "share-ru",
        "share-en",
        "declined-week-ru",
    ],
)
def test_deterministic_explanations(sql: str, lang: str, expected: str) -> None:
    assert describe(sql, lang, model=demo_model()) == expected


def acquirer_model() -> SemanticModel:
    """A company whose payments are acquiring.payments with amounts in tiyn (minor units)."""
    return from_document(
        {
            "version": 1,
            "semantic_models": [
                {
                    "name": "payments",
                    "model": "acquiring.payments",
                    "defaults": {"agg_time_dimension": "paid_at"},
                    "entities": [{"name": "payment", "type": "primary", "expr": "payment_id"}],
                    "dimensions": [{"name": "paid_at", "type": "time"}, {"name": "state", "type": "categorical"}],
                    "measures": [{"name": "volume", "agg": "sum", "expr": "amount"}],
                },
                {
                    "name": "refunds",
                    "model": "acquiring.refunds",
                    "entities": [{"name": "refund", "type": "primary", "expr": "refund_id"}],
                },
            ],
            "payments": {"fact": "payments", "amount": "amount", "unit": "minor"},
        }
    )


@pytest.mark.parametrize(
    ("sql", "lang", "expected"),
    [
        ("SELECT SUM(p.amount / 100.0) FROM acquiring.payments p", "ru", "Запрос считает объем в тенге в таблице "),
        ("SELECT SUM(p.amount / 100.0) FROM acquiring.payments p", "en", "The query computes volume in KZT from "),
        ("SELECT SUM(amount) / 100.0 AS volume FROM acquiring.payments", "en", "The query computes volume in KZT "),
        ("SELECT ROUND(AVG(amount / 100), 2) FROM payments", "en", "The query computes average amount in KZT "),
        ("SELECT COUNT(*) FROM acquiring.payments AS p", "en", "The query computes the number of transactions "),
        ("SELECT COUNT(*) FROM acquiring.payments AS p", "ru", "Запрос считает число транзакций "),
        # not the volume: tiyn not divided, another table's amount, another divisor, rows of another table
        ("SELECT SUM(amount) FROM acquiring.payments", "en", "The query computes the sum of amount "),
        (
            "SELECT SUM(r.amount / 100.0) FROM acquiring.refunds r",
            "en",
            "The query computes the sum of r.amount / 100.0",
        ),
        (
            "SELECT SUM(p.amount / 1000.0) FROM acquiring.payments p",
            "en",
            "The query computes the sum of p.amount / 1000",
        ),
        ("SELECT COUNT(*) FROM acquiring.refunds", "en", "The query computes the number of rows "),
    ],
)
def test_the_models_amount_and_fact_table_are_named_in_business_terms(sql: str, lang: str, expected: str) -> None:
    assert describe(sql, lang, model=acquirer_model()).startswith(expected)


def test_the_tenge_volume_of_a_minor_units_model_in_full() -> None:
    sql = "SELECT SUM(p.amount / 100.0) FROM acquiring.payments p"
    assert describe(sql, "ru", model=acquirer_model()) == "Запрос считает объем в тенге в таблице acquiring.payments."
    assert describe(sql, "en", model=acquirer_model()) == (
        "The query computes volume in KZT from the acquiring.payments table."
    )


def test_without_a_model_the_wording_is_generic() -> None:
    assert describe(COUNT_TODAY, "en").startswith("The query computes the number of rows for today ")
    assert describe(TOP_MERCHANTS, "en").startswith("The query computes the sum of amount_kzt by ")
    assert describe(TOP_MERCHANTS, "ru").startswith("Запрос считает сумму amount_kzt по ")
    # the demo's words are no default: a model whose amount is another column does not call amount_kzt volume
    assert "KZT" not in describe(TOP_MERCHANTS, "en", model=acquirer_model())


def test_other_conditions_are_shown_as_sql() -> None:
    sql = (
        "SELECT COUNT(DISTINCT customer_id) FROM transactions "
        "WHERE transaction_ts >= DATE_TRUNC('week', CURRENT_DATE) - INTERVAL '1 week'"
    )
    assert describe(sql, "en") == (
        "The query computes the number of distinct customer_id from the transactions table. "
        "Conditions: transaction_ts >= DATE_TRUNC('WEEK', CURRENT_DATE) - INTERVAL '1 WEEK'."
    )


@pytest.mark.parametrize(
    ("sql", "lang", "expected"),
    [
        ("WITH x AS (SELECT 1) SELECT * FROM transactions UNION SELECT * FROM refunds", "en", "The query reads: "),
        ("SELECT amount_kzt FROM merchants WHERE (", "ru", "Запрос читает таблицы: merchants."),
        ("", "en", "The query could not be described."),
    ],
)
def test_anything_unusual_falls_back_to_the_tables(sql: str, lang: str, expected: str) -> None:
    assert describe(sql, lang).startswith(expected)


def test_language_follows_the_question() -> None:
    assert language("Сколько транзакций было сегодня?") == "ru"
    assert language("How many transactions today?") == "en"
    assert language("") == "en"


def test_a_provider_without_explain_gets_the_deterministic_text() -> None:
    scripted = ScriptedProvider("SELECT 1")
    assert explain("Сколько транзакций было сегодня?", COUNT_TODAY, scripted).startswith("Запрос считает")
    assert explain("Transactions today", COUNT_TODAY, scripted).startswith("The query computes")
    assert explain("Transactions today", COUNT_TODAY, scripted, model=demo_model()).startswith(
        "The query computes the number of transactions for today"
    )
    assert scripted.prompts == []  # no generation call was made


def test_ollama_explains_in_russian_for_a_russian_question(ollama_server: Loopback) -> None:
    reply = "Запрос считает\n  объем в тенге\nпо мерчантам.  " + "Очень длинно. " * 60
    ollama_server.reply("chat", ollama_server.ollama_chat(reply))

    text = explain("Топ-10 мерчантов по объему", TOP_MERCHANTS, OllamaProvider(host=ollama_server.url))

    assert text.startswith("Запрос считает объем в тенге по мерчантам. Очень длинно.")
    assert "\n" not in text and len(text) <= 600
    [request] = ollama_server.requests
    assert request.path == "/api/chat"
    assert "format" not in request.body  # plain text, no JSON schema
    assert request.body["options"] == {"temperature": 0}
    [message] = request.body["messages"]
    assert "in Russian" in message["content"]
    assert TOP_MERCHANTS in message["content"]
    assert "Question: Топ-10 мерчантов по объему" in message["content"]


def test_ollama_explain_asks_for_english_and_fails_as_one_line(ollama_server: Loopback, closed_url: str) -> None:
    ollama_server.reply("chat", ollama_server.ollama_chat("Counts today's transactions."))
    assert explain("Transactions today", COUNT_TODAY, OllamaProvider(host=ollama_server.url)) == (
        "Counts today's transactions."
    )
    assert "in English" in ollama_server.requests[0].body["messages"][0]["content"]

    with pytest.raises(ProviderError, match="Ollama is not running at"):
        explain("Transactions today", COUNT_TODAY, OllamaProvider(host=closed_url))


def test_gemini_explains_with_plain_text(gemini_server: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    gemini_server.reply("gemini", gemini_server.gemini_text("Считает число транзакций за сегодня."))
    provider = GeminiProvider(api_key="test-key-explain", base_url=gemini_server.url, attempts=1)

    assert explain("Сколько транзакций сегодня?", COUNT_TODAY, provider) == "Считает число транзакций за сегодня."
    [request] = gemini_server.requests
    assert "responseMimeType" not in request.body.get("generationConfig", {})
    assert COUNT_TODAY in request.body["contents"][0]["parts"][0]["text"]
    assert "in Russian" in request.body["contents"][0]["parts"][0]["text"]


# the magic ------------------------------------------------------------------------------------------------
@pytest.fixture
def run(shell: InteractiveShell, reader_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    return shell.run_cell


def test_magic_explain_prints_lines_after_the_sql_and_returns_the_frame(run, capsys) -> None:
    result = run("%%ask --explain\nЧисло транзакций за сегодня")  # a question no other module caches

    assert result.success, result.error_in_exec
    assert isinstance(result.result, pd.DataFrame)
    out = capsys.readouterr().out
    assert out.index("FROM transactions") < out.index("-- Запрос считает число транзакций за сегодня")

    again = run("%ask --explain")
    assert again.success, again.error_in_exec
    assert again.result is None
    assert "-- Запрос считает число транзакций за сегодня" in capsys.readouterr().out


def test_magic_explain_of_reviewed_sql_uses_the_remote_provider(
    run, capsys, ollama_server: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    ollama_server.reply("chat", ollama_server.ollama_chat("Counts the transactions of the last 7 days."))

    result = run(f"%%ask --sql --explain --provider ollama\n{DECLINED_WEEK}")

    assert result.success, result.error_in_exec
    assert isinstance(result.result, pd.DataFrame)
    assert "-- Counts the transactions of the last 7 days." in capsys.readouterr().out
    sent = ollama_server.requests[-1].body["messages"][0]["content"]
    assert "status = 'declined'" in sent and "CURRENT_DATE - 6" in sent and "in English" in sent


def test_magic_explain_failure_is_one_line_and_keeps_the_answer(run, capsys) -> None:
    result = run(f"%%ask --sql --explain --provider ollama\n{COUNT_TODAY}")  # OLLAMA_HOST: nothing listens

    assert result.success, result.error_in_exec
    assert isinstance(result.result, pd.DataFrame)
    out = capsys.readouterr().out
    assert out.index("total_transactions") < out.index("-- explanation unavailable: Ollama is not running at")
