"""Readable numbers in the notebook's rendering of an answer, with the DataFrame itself untouched."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.utils.capture import capture_output

from paysql_magic import rendering
from paysql_magic.connection import engine_for
from paysql_magic.execute import run_query
from paysql_magic.settings import DEFAULT_MAX_ROWS

NBSP = "\u00a0"


@pytest.fixture
def run(shell, reader_url, monkeypatch):
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)

    def _run(cell: str):
        with capture_output():
            result = shell.run_cell(cell)
        assert result.success, result.error_in_exec
        return result.result

    return _run


def _html(shell, frame) -> str:
    return shell.display_formatter.format(frame)[0]["text/html"]


def _plain(shell, frame) -> str:
    return shell.display_formatter.format(frame)[0]["text/plain"]


def test_o_output_keeps_the_executors_dtypes_and_values(shell, run, reader_url) -> None:
    """What -o and _ hold is what the executor returned: same dtypes, same values; only the rendering changes."""
    frame = run("%%ask -o by_city\nAverage amount and number of transactions by city for the last 30 days")
    assert shell.user_ns["by_city"] is frame and shell.user_ns["_"] is frame
    plain = run_query(engine_for(reader_url), _last_sql(shell), max_rows=DEFAULT_MAX_ROWS)
    assert frame.dtypes.to_dict() == plain.frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), plain.frame.reset_index(drop=True))
    assert pd.api.types.is_float_dtype(frame["avg_amount"])

    html = _html(shell, frame)
    money = frame["avg_amount"].max()
    assert f"{money:,.2f}" in html  # two decimals and thousands separators (an English question)
    assert "e+" not in html and "e+" not in _plain(shell, frame)
    copy = frame.copy()  # another frame (a copy, a derived one) renders as pandas does
    assert _html(shell, copy) == copy._repr_html_()


def _last_sql(shell) -> str:
    return shell.magics_manager.registry["Ask"].last_result.sql


def test_a_russian_question_groups_digits_with_spaces_and_a_decimal_comma(shell, run) -> None:
    frame = run("%%ask -o vol\nОбъем транзакций по городам за последние 30 дней")
    html = _html(shell, frame)
    biggest = frame["total_volume"].max()
    expected = f"{biggest:,.2f}".replace(",", NBSP).replace(".", ",")
    assert expected in html
    assert pd.api.types.is_float_dtype(frame["total_volume"])


def test_number_format_pins_the_separators_and_raw_turns_it_off(shell, run) -> None:
    shell.run_line_magic("config", "Ask.number_format = 'en'")
    try:
        frame = run("%%ask\nОбъем транзакций по городам за последние 30 дней")
        assert f"{frame['total_volume'].max():,.2f}" in _html(shell, frame)
        shell.run_line_magic("config", "Ask.number_format = 'raw'")
        frame = run("%%ask\nОбъем транзакций по городам за последние 30 дней")
        assert _html(shell, frame) == frame._repr_html_()
    finally:
        shell.run_line_magic("config", "Ask.number_format = 'auto'")


def test_money_comes_from_the_models_amount_through_ctes_never_from_a_count() -> None:
    model = type("Model", (), {"amount": "amount_minor"})()
    frame = pd.DataFrame(
        {
            "mcc_code": pd.array([5411, 5812], dtype="Int64"),
            "n": pd.array([1200, 35], dtype="Int64"),
            "turnover": [123456789.5, 1.25],
            "share_pct": [12.3456, 0.5],
            "payments_counted": pd.array([3000, 4], dtype="Int64"),
            "avg_daily": [1234567.891, 2.0],
        }
    )
    sql = """
        WITH daily AS (SELECT day, SUM(amount_minor) / 100.0 AS v FROM p GROUP BY day)
        SELECT mcc_code, COUNT(*) AS n, SUM(amount_minor) / 100.0 AS turnover,
               100.0 * SUM(amount_minor) FILTER (WHERE ok) / SUM(amount_minor) AS share_pct,
               COUNT(amount_minor) AS payments_counted, (SELECT AVG(v) FROM daily) AS avg_daily
        FROM p GROUP BY mcc_code"""
    spec = rendering.layout(frame, sql, model, "en")
    assert spec.kinds == {
        "mcc_code": "plain",  # a bare column: a code, not a count
        "n": "measure",
        "turnover": "money",
        "share_pct": "measure",  # money / money is a ratio
        "payments_counted": "measure",
        "avg_daily": "money",  # money through a CTE and a scalar subquery
    }
    text = rendering.to_text(frame, spec)
    assert "123,456,789.50" in text and "5411" in text and "5,411" not in text and "1,200" in text
    assert "12.35" in text and "3,000" in text


def test_without_a_model_money_is_known_by_name() -> None:
    frame = pd.DataFrame({"city": ["A"], "total_volume": [3520113820.27], "customers": pd.array([5000], "Int64")})
    spec = rendering.layout(frame, "SELECT city, SUM(x) AS total_volume, COUNT(*) AS customers FROM t", None, "en")
    assert spec.kinds == {"total_volume": "money", "customers": "measure"}
    assert "3,520,113,820.27" in rendering.to_text(frame, spec)
