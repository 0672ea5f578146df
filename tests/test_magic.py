"""%%ask in a real IPython InteractiveShell against the real test database."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from sqlalchemy import text

from paysql_magic import examples
from paysql_magic.connection import engine_for
from paysql_magic.settings import DEFAULT_MAX_ROWS


@pytest.fixture
def run(shell, reader_url, monkeypatch):
    """Run a cell on the test database (through PAYSQL_DATABASE_URL); returns IPython's ExecutionResult."""
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)

    def _run(cell: str):
        shell.rl_next_input = None
        return shell.run_cell(cell)

    return _run


def _audit_rows(engine, call_filter: str = "true") -> list:
    with engine.connect() as conn:
        return (
            conn.execute(text(f"SELECT * FROM paysql.query_audit_log WHERE {call_filter} ORDER BY id")).mappings().all()
        )


def _last_audit(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).mappings().one()


def test_ask_returns_dataframe_audits_and_inserts_reviewed_cell(shell, run, admin_engine, capsys, transactions_today):
    before = len(_audit_rows(admin_engine))
    result = run("%%ask -o today_df\nСколько транзакций было сегодня?")
    assert result.success, result.error_in_exec
    frame = result.result
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["total_transactions"]
    expected = transactions_today
    assert int(frame.iloc[0, 0]) == expected > 0
    assert shell.user_ns["today_df"] is frame

    out = capsys.readouterr().out
    assert "-- ask: Сколько транзакций было сегодня?" in out
    assert "-- provider: auto -> offline (no GEMINI_API_KEY" in out  # says which provider auto picked, and why
    assert "model offline-parser-1" in out
    assert "current_date" in out.lower()

    next_cell = shell.rl_next_input
    assert next_cell.startswith("%%ask --sql -o today_df\n-- ask: Сколько транзакций было сегодня?\n")
    assert "SELECT" in next_cell

    rows = _audit_rows(admin_engine)
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["source"] == "ask"
    assert row["status"] == "ok" and row["success"] is True
    assert row["provider"] == "offline"
    assert row["row_count"] == 1
    assert row["question"] == "Сколько транзакций было сегодня?"
    assert row["db_user"] == "paysql_reader"
    assert row["executed_sql"] and row["generated_sql"]
    assert row["schema_hash"]
    assert row["llm_time_ms"] is not None and row["execution_time_ms"] is not None


def test_reviewed_cell_runs_edited_sql_and_is_audited_as_edited(shell, run, admin_engine):
    run("%%ask -o by_currency\nТранзакции по валютам")
    reviewed = shell.rl_next_input
    edited = reviewed.replace("GROUP BY", "WHERE currency <> 'RUB' GROUP BY")
    result = run(edited)
    assert result.success, result.error_in_exec
    frame = shell.user_ns["by_currency"]
    assert set(frame["currency"]) == {"KZT", "USD", "EUR"}
    assert shell.rl_next_input is None  # a reviewed cell does not insert another one
    row = _last_audit(admin_engine)
    assert row["source"] == "edited"
    assert row["question"] == "Транзакции по валютам"
    assert "<> 'RUB'" in row["executed_sql"]


def test_no_run_only_writes_the_cell(shell, run, admin_engine):
    before = len(_audit_rows(admin_engine))
    result = run("%%ask --no-run -o nothing\nTop 5 merchants by volume")
    assert result.success
    assert result.result is None
    assert "nothing" not in shell.user_ns
    assert "LIMIT 5" in shell.rl_next_input
    assert len(_audit_rows(admin_engine)) == before + 1


@pytest.mark.parametrize(
    ("cell", "message", "status"),
    [
        ("%%ask -o bad\n   ", "the question is empty", "declined"),
        ("%%ask -o bad\nКакая завтра будет погода в Париже?", "offline", "declined"),
        ("%%ask --sql -o bad\nDELETE FROM transactions", "SQL refused", "refused"),
        ("%%ask --sql -o bad\nSELECT FROM WHERE (", "SQL refused", "refused"),
        ("%%ask --sql -o bad\nSELECT no_such_column FROM transactions", "no_such_column", "error"),
    ],
)
def test_bad_input_gives_one_line_and_an_audit_row(shell, run, admin_engine, capsys, cell, message, status):
    shell.user_ns["bad"] = "stale value"
    before = len(_audit_rows(admin_engine))
    result = run(cell)
    assert not result.success
    captured = capsys.readouterr()
    error_lines = [line for line in (captured.out + captured.err).splitlines() if line.startswith("paysql:")]
    assert len(error_lines) == 1, captured
    assert message in error_lines[0]
    assert "Traceback" not in captured.out + captured.err
    assert "bad" not in shell.user_ns  # a failed cell leaves the variable unset
    assert shell.rl_next_input is None
    rows = _audit_rows(admin_engine)
    assert len(rows) == before + 1
    assert rows[-1]["status"] == status and rows[-1]["success"] is False
    assert rows[-1]["error"]


def test_no_connection_is_one_clear_line(shell, monkeypatch, capsys):
    monkeypatch.delenv("PAYSQL_DATABASE_URL", raising=False)
    magics = shell.magics_manager.registry["Ask"]
    monkeypatch.setattr(magics, "_default_engine", None)
    monkeypatch.setattr("sql.connection.ConnectionManager.current", None)
    result = shell.run_cell("%%ask\nСколько транзакций было сегодня?")
    assert not result.success
    captured = capsys.readouterr()
    assert "paysql: no database connection: use %ask --demo" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_unreachable_database_is_one_clear_line_without_password(shell, capsys):
    url = "postgresql://paysql_reader:s3cret-pw@127.0.0.1:1/payments"
    result = shell.run_cell(f"%%ask --conn {url}\nСколько транзакций было сегодня?")
    assert not result.success
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.startswith("paysql:")]
    assert len(lines) == 1
    assert "cannot connect" in lines[0]
    assert "s3cret-pw" not in captured.out + captured.err


def test_jupysql_connection_is_shared(shell, reader_url, admin_engine, monkeypatch):
    monkeypatch.delenv("PAYSQL_DATABASE_URL", raising=False)
    magics = shell.magics_manager.registry["Ask"]
    monkeypatch.setattr(magics, "_default_engine", None)
    shell.run_line_magic("load_ext", "sql")
    shell.run_line_magic("sql", reader_url)
    result = shell.run_cell("%%ask -o n\nHow many transactions are in the database in total?")
    assert result.success, result.error_in_exec
    with admin_engine.connect() as conn:
        assert int(shell.user_ns["n"].iloc[0, 0]) == conn.execute(text("SELECT count(*) FROM transactions")).scalar()
    # and the other way round: %ask --conn makes the connection jupysql's current one
    shell.run_line_magic("ask", f"--conn {reader_url}")
    from sql.connection import ConnectionManager

    assert ConnectionManager.current.connection_sqlalchemy.engine is engine_for(reader_url)


def test_line_magic_asks_a_question(shell, run):
    frame = shell.run_line_magic("ask", "-o top3 Top 3 merchants by number of transactions")
    assert list(frame.columns) == ["merchant_name", "total_transactions"]
    assert len(frame) == 3
    assert frame["total_transactions"].is_monotonic_decreasing
    assert shell.user_ns["top3"] is frame


def test_config_sets_defaults(shell, run):
    shell.run_line_magic("config", "Ask.max_rows = 3")
    try:
        result = run("%%ask --sql -o few\nSELECT merchant_name FROM merchants ORDER BY merchant_id")
        assert result.success
        assert len(shell.user_ns["few"]) == 3
    finally:
        shell.run_line_magic("config", f"Ask.max_rows = {DEFAULT_MAX_ROWS}")


def test_a_cached_answer_still_offers_its_review_cell(shell, run, admin_engine, capsys):
    """A brand-new notebook asking a question the cache knows gets its review cell too (the kernel's fallback and
    the JupyterLab extension keep it from duplicating: tests/test_review.py, tests/test_jupyterlab.py)."""
    question = "Сколько клиентов в каждом городе?"
    first = run(f"%%ask -o c1\n{question}")
    assert first.success, first.error_in_exec
    assert shell.rl_next_input.startswith("%%ask --sql -o c1\n")
    capsys.readouterr()
    again = run(f"%%ask -o c2\n{question}")
    assert again.success
    assert ", cached" in capsys.readouterr().out
    assert shell.rl_next_input.startswith(f"%%ask --sql -o c2\n-- ask: {question}\n")
    row = _last_audit(admin_engine)
    assert (row["cached"], row["attempts"], row["question"]) == (True, 0, question)
    assert again.result.equals(first.result)

    fresh = run(f"%%ask --fresh -o c3\n{question}")
    assert fresh.success and shell.rl_next_input.startswith("%%ask --sql -o c3")
    assert _last_audit(admin_engine)["cached"] is False


def test_show_prompt_prints_the_prompt_and_sends_nothing(shell, run, admin_engine, capsys):
    before = len(_audit_rows(admin_engine))
    result = run("%%ask --show-prompt\nОборот по городам за последние 7 дней")
    assert result.success and result.result is None
    out = capsys.readouterr().out
    assert "Business conventions:" in out and "CREATE TABLE transactions" in out
    assert out.rstrip().endswith("Question: Оборот по городам за последние 7 дней")
    assert len(_audit_rows(admin_engine)) == before
    assert shell.rl_next_input is None


def test_glossary_config_reaches_the_prompt(shell, run, capsys):
    shell.run_line_magic("config", "Ask.glossary = '- Turnover counts approved transactions only.'")
    try:
        run("%%ask --show-prompt\nОборот за вчера")
        assert "- Turnover counts approved transactions only." in capsys.readouterr().out
    finally:
        shell.run_line_magic("config", "Ask.glossary = None")
    shell.run_line_magic("config", "Ask.statuses = 'approved'")
    try:
        run("%%ask --show-prompt\nОборот за вчера")
        assert "include only approved rows" in capsys.readouterr().out
    finally:
        shell.run_line_magic("config", "Ask.statuses = 'all'")


def test_verify_turns_the_last_answer_into_an_example(shell, run, reader_engine, capsys):
    question = "Средний чек по каналам"
    assert run(f"%%ask\n{question}").success
    assert question not in {e.question for e in examples.load(reader_engine)}
    shell.run_line_magic("ask", "--verify")
    assert f"paysql: verified: {question}" in capsys.readouterr().out
    assert question in {e.question for e in examples.load(reader_engine)}


def test_samples_flag_votes_over_candidates(shell, run, admin_engine):
    result = run("%%ask --samples 2 -o voted\nTop 3 merchants by volume")
    assert result.success, result.error_in_exec
    assert len(shell.user_ns["voted"]) == 3
    assert _last_audit(admin_engine)["attempts"] == 2


class _Interrupting:
    """A provider interrupted by the analyst (Ctrl-C / the notebook's stop button) while it works."""

    name, model, remote = "scripted", "interrupting", False

    def generate(self, prompt):
        raise KeyboardInterrupt


def test_ctrl_c_while_the_provider_works_is_one_line_and_audited_as_cancelled(
    shell, run, admin_engine, capsys, monkeypatch
):
    monkeypatch.setattr("paysql_magic.core.choose_provider", lambda name, model: (_Interrupting(), None))
    result = run("%%ask --fresh -o gone\nСколько транзакций было сегодня?")
    assert not result.success
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.startswith("paysql:")]
    assert len(lines) == 1 and "cancelled" in lines[0]
    assert "Traceback" not in captured.out + captured.err
    row = _last_audit(admin_engine)
    assert (row["status"], row["success"], row["error"]) == ("cancelled", False, "interrupted by the user")
    assert "gone" not in shell.user_ns


def test_cells_run_live_unless_the_result_cache_is_asked_for(shell, run, admin_engine, capsys):
    marker = 100_000_000 + uuid.uuid4().int % 100_000_000  # a number only this SQL holds
    sql = f"SELECT count(*) AS n FROM transactions WHERE amount_kzt < {marker}"
    cell = f"%%ask --sql -o counted\n{sql}"
    served = []

    def ask(options: str = "") -> None:
        capsys.readouterr()
        assert run(cell.replace("--sql", f"--sql {options}")).success
        served.append("from the result cache" in capsys.readouterr().out)

    ask()
    ask()  # live: Ask.result_ttl is 0
    shell.run_line_magic("config", "Ask.result_ttl = 60")
    try:
        ask()
        ask()
        ask("--fresh")
    finally:
        shell.run_line_magic("config", "Ask.result_ttl = 0")
    assert served == [False, False, False, True, False]
    with admin_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT result_cached FROM paysql.query_audit_log WHERE executed_sql LIKE :s ORDER BY id"),
            {"s": f"%{marker}%"},
        ).scalars()
        assert list(rows) == [None, None, None, True, None]  # every cell audited, the cached one marked
