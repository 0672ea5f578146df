"""%%ask --plot / --export, Ask.autoplot, %ask_audit and `paysql ask`, on the real test database."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pandas as pd
import pytest
from IPython.utils.capture import capture_output
from sqlalchemy import text

from paysql_magic import monitor

READERS = {"csv": lambda p: pd.read_csv(p, parse_dates=["day"]), "xlsx": pd.read_excel, "parquet": pd.read_parquet}
DAILY = "%%ask -o daily {options}\nDaily volume for the last 30 days"


@pytest.fixture
def run(shell, reader_url, monkeypatch):
    """Run a cell on the test database; returns (ExecutionResult, captured stdout and display outputs)."""
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)

    def _run(cell: str):
        with capture_output() as captured:
            result = shell.run_cell(cell)
        assert result.success, (result.error_in_exec, captured.stdout, captured.stderr)
        return result, captured

    return _run


def _images(captured) -> list[bytes]:
    """The PNGs among the display outputs (IPython carries them base64-encoded)."""
    return [base64.b64decode(out.data["image/png"]) for out in captured.outputs if "image/png" in out.data]


def test_plot_displays_a_png_chart_and_returns_the_frame(run, shell) -> None:
    result, captured = run(DAILY.format(options="--plot"))
    assert isinstance(result.result, pd.DataFrame) and list(result.result.columns) == ["day", "total_volume"]
    (png,) = _images(captured)
    assert png.startswith(b"\x89PNG")
    assert shell.user_ns["daily"] is result.result
    assert shell.rl_next_input.startswith("%%ask --sql -o daily --plot\n")


def test_no_plot_flag_means_no_image(run) -> None:
    _, captured = run(DAILY.format(options=""))
    assert _images(captured) == []


def test_plot_says_so_when_the_shape_gets_no_chart(run) -> None:
    _, captured = run("%%ask --plot\nСколько транзакций было сегодня?")
    assert _images(captured) == []
    assert "-- no chart:" in captured.stdout


def test_autoplot_config_charts_a_breakdown_quietly_skips_a_scalar(run, shell) -> None:
    shell.run_line_magic("config", "Ask.autoplot = True")
    try:
        _, breakdown = run("%%ask\nTop 5 MCC categories by volume today")
        _, scalar = run("%%ask\nСколько транзакций было сегодня?")
    finally:
        shell.run_line_magic("config", "Ask.autoplot = False")
    assert len(_images(breakdown)) == 1
    assert _images(scalar) == [] and "no chart" not in scalar.stdout


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet"])
def test_export_writes_the_result_and_says_so(run, tmp_path, suffix) -> None:
    path = tmp_path / f"daily.{suffix}"
    result, captured = run(DAILY.format(options=f"--export {path}"))
    frame = result.result
    assert f"-- exported {len(frame)} rows to {path}" in captured.stdout
    back = READERS[suffix](path)
    assert pd.api.types.is_datetime64_any_dtype(back["day"]) and pd.api.types.is_float_dtype(back["total_volume"])
    assert back["total_volume"].tolist() == frame["total_volume"].tolist()


def test_export_to_an_unknown_format_fails_before_the_query(shell, reader_url, admin_engine, monkeypatch, capsys):
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    before = _audit_count(admin_engine)
    result = shell.run_cell("%%ask --export out.json\nDaily volume for the last 30 days")
    assert not result.success
    out = capsys.readouterr()
    assert "paysql: cannot export to out.json: use a .csv, .xlsx or .parquet file" in out.out + out.err
    assert _audit_count(admin_engine) == before  # nothing ran


def _audit_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM paysql.query_audit_log")).scalar_one()


def test_ask_audit_shows_your_recent_calls_the_figures_and_a_chart(run, shell, admin_engine, monkeypatch) -> None:
    monkeypatch.setenv("PAYSQL_USER", "audit-test-analyst")  # calls by others (the quickstart's ...) are not yours
    run("%%ask\nСколько транзакций было сегодня?")
    before = _audit_count(admin_engine)
    _, captured = run("%ask_audit")
    assert _audit_count(admin_engine) == before  # the monitoring queries are not audited
    titles = (monitor.RECENT_CALLS, monitor.TOP_QUESTIONS, monitor.EXECUTION_TIME, monitor.SUCCESS_RATE)
    for title in (*titles, monitor.CALLS_PER_DAY, monitor.UNFINISHED):
        assert f"-- {title}" in captured.stdout
    frames = [out.data["text/plain"] for out in captured.outputs if "image/png" not in out.data]
    assert len(frames) == 6
    recent, top, timing, success, per_day, unfinished = frames
    assert "[1 rows x 6 columns]" in recent  # only this user's call
    assert "call_id" in unfinished
    (mine,) = monitor.figures(admin_engine, user="audit-test-analyst")[monitor.RECENT_CALLS].itertuples()
    assert (mine.question, mine.source, mine.status) == ("Сколько транзакций было сегодня?", "ask", "ok")
    assert "question" in top and "calls" in top and "Сколько транзакций было сегодня?" in top
    assert "avg_execution_ms" in timing
    assert "success_rate_pct" in success
    assert "day" in per_day and 2 <= len(per_day.splitlines()) <= 31  # the days with calls, empty days folded
    assert " 0\n" not in per_day + "\n"
    assert len(_images(captured)) == 1

    with admin_engine.connect() as conn:
        expected = conn.execute(
            text("SELECT round(100.0 * count(*) FILTER (WHERE success) / count(*), 1) FROM paysql.query_audit_log")
        ).scalar_one()
    figures = monitor.figures(admin_engine)
    assert figures[monitor.SUCCESS_RATE]["success_rate_pct"].iloc[0] == float(expected)
    assert figures[monitor.CALLS_PER_DAY]["calls"].iloc[-1] >= 1  # today
    assert len(figures[monitor.CALLS_PER_DAY]) == 30  # the chart keeps the empty days
    assert len(figures[monitor.TOP_QUESTIONS]) <= 10


def _paysql_ask(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "paysql_magic.cli", "ask", *map(str, args)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def test_paysql_ask_prints_sql_and_rows_and_exports(reader_url, tmp_path) -> None:
    path = tmp_path / "top.xlsx"
    proc = _paysql_ask(
        "Топ 10 мерчантов по объему транзакций", "--database-url", reader_url, "--provider", "offline", "--export", path
    )
    assert proc.returncode == 0, proc.stderr
    assert "-- ask: Топ 10 мерчантов по объему транзакций" in proc.stdout
    assert "SELECT" in proc.stdout and "merchant_name" in proc.stdout
    assert f"-- exported 10 rows to {path}" in proc.stdout
    back = pd.read_excel(path)
    assert list(back.columns) == ["merchant_name", "total_volume"] and len(back) == 10
    assert pd.api.types.is_float_dtype(back["total_volume"])


def test_paysql_ask_error_is_one_line_and_non_zero(reader_url, tmp_path) -> None:
    proc = _paysql_ask("Daily volume", "--database-url", reader_url, "--export", tmp_path / "out.txt")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "paysql: cannot export to out.txt: use a .csv, .xlsx or .parquet file"
