"""`paysql report`: the daily report notebook rendered headless, its figures checked against direct SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import text

from paysql_magic import cli
from paysql_magic.errors import ConfigError
from paysql_magic.report import find_notebook, inject, load, parameter_names, parse_params, parse_value, render

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "daily_report.ipynb"
LOCAL_DAY = "(t.transaction_ts AT TIME ZONE 'Asia/Almaty')::date"  # the business day: the demo's time zone
ASK_CELLS = 4  # the questions the report asks


def _max_audit_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM paysql.query_audit_log")).scalar_one()


def _audit_rows_after(engine, after: int) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT source, status, cached, notebook FROM paysql.query_audit_log WHERE id > :after ORDER BY id"),
            {"after": after},
        ).all()


@pytest.fixture(scope="module")
def report_day(demo) -> date:
    return demo.anchor_date - timedelta(days=3)  # a whole day inside the data


@pytest.fixture(scope="module")
def rendered(demo, admin_engine, report_day, tmp_path_factory):
    """The first render, in process: (Rendered, audit id before it)."""
    before = _max_audit_id(admin_engine)
    out = tmp_path_factory.mktemp("report")
    result = render(load(NOTEBOOK, {"date": report_day}), NOTEBOOK, demo.reader_url, html=out / "report.html")
    return result, before


@pytest.fixture(scope="module")
def expected(admin_engine, report_day) -> dict:
    """The report's figures computed directly: count and volume of the day, the top 5, 30 days, yesterday."""
    with admin_engine.connect() as conn:

        def day_totals(day: date) -> tuple[int, float]:
            row = conn.execute(
                text(f"SELECT count(*), coalesce(sum(amount_kzt), 0) FROM transactions t WHERE {LOCAL_DAY} = :d"),
                {"d": day},
            ).one()
            return int(row[0]), float(row[1])

        top = conn.execute(
            text(
                "SELECT c.mcc_category, sum(t.amount_kzt) FROM transactions t JOIN merchants m USING (merchant_id) "
                f"JOIN mcc_codes c USING (mcc_code) WHERE {LOCAL_DAY} = :d GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
            ),
            {"d": report_day},
        ).all()
        daily = conn.execute(
            text(
                f"SELECT {LOCAL_DAY} AS day, sum(amount_kzt) FROM transactions t "
                f"WHERE {LOCAL_DAY} BETWEEN CAST(:d AS date) - 29 AND :d GROUP BY 1 ORDER BY 1"
            ),
            {"d": report_day},
        ).all()
        today, before = day_totals(report_day), day_totals(report_day - timedelta(days=1))
    return {
        "transactions": today[0],
        "volume": today[1],
        "top": [(category, float(volume)) for category, volume in top],
        "daily": {day.isoformat(): float(volume) for day, volume in daily},
        "transactions_yesterday": before[0],
        "volume_yesterday": before[1],
    }


def test_parameters_are_typed_like_papermill() -> None:
    assert parse_value("5") == 5 and isinstance(parse_value("5"), int)
    assert parse_value("-2.5") == -2.5
    assert parse_value("2026-11-20") == date(2026, 11, 20)
    assert parse_value("none") is None and parse_value("NULL") is None
    assert parse_value("USD") == "USD" and parse_value("5 дней") == "5 дней"
    assert parse_params(["date=2026-11-20", "currency=USD", "top_n=10"]) == {
        "date": date(2026, 11, 20),
        "currency": "USD",
        "top_n": 10,
    }
    with pytest.raises(ConfigError, match="name=value"):
        parse_params(["2026-11-20"])
    with pytest.raises(ConfigError, match="not a valid date"):
        parse_value("2026-13-01")


def test_the_report_ships_with_the_package() -> None:
    shipped = find_notebook("daily_report")
    assert shipped.name == "daily_report.ipynb" and shipped.read_bytes() == NOTEBOOK.read_bytes()
    with pytest.raises(ConfigError, match="no notebook weekly_report"):
        find_notebook("weekly_report")


def test_injected_cell_follows_the_parameters_cell_and_unknown_names_are_refused() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert parameter_names(nb) == ["date", "currency", "top_n"]
    inject(nb, {"date": date(2026, 11, 20), "top_n": 3}, NOTEBOOK.name)
    inject(nb, {"date": date(2026, 11, 21)}, NOTEBOOK.name)  # again: replaced, not added
    tags = [cell.metadata.get("tags", []) for cell in nb.cells]
    params_at = tags.index(["parameters"])
    assert tags[params_at + 1] == ["injected-parameters"] and tags.count(["injected-parameters"]) == 1
    source = nb.cells[params_at + 1].source
    assert "date = datetime.date(2026, 11, 21)" in source and "import datetime" in source
    namespace: dict = {}
    exec(source, namespace)  # the injected cell is plain Python
    assert namespace["date"] == date(2026, 11, 21)
    with pytest.raises(ConfigError) as refused:
        inject(nb, {"day": date(2026, 11, 20)}, NOTEBOOK.name)
    assert str(refused.value) == "unknown parameter day: daily_report.ipynb has date, currency, top_n"


def test_daily_report_figures_match_direct_sql(rendered, expected, report_day) -> None:
    result, _ = rendered
    summary = result.summary
    assert summary["date"] == report_day.isoformat() and summary["currency"] is None
    assert summary["transactions"] == expected["transactions"] > 0
    assert summary["volume_kzt"] == pytest.approx(expected["volume"], abs=0.01)
    assert [category for category, _ in summary["top_mcc"]] == [category for category, _ in expected["top"]]
    assert [v for _, v in summary["top_mcc"]] == pytest.approx([v for _, v in expected["top"]], abs=0.01)
    days = [(report_day - timedelta(days=n)).isoformat() for n in range(29, -1, -1)]
    assert list(summary["daily_volume_kzt"]) == days  # 30 days ending on the report day, in order
    assert summary["daily_volume_kzt"] == pytest.approx({d: expected["daily"].get(d, 0.0) for d in days}, abs=0.01)
    assert summary["transactions_yesterday"] == expected["transactions_yesterday"]
    assert summary["volume_yesterday_kzt"] == pytest.approx(expected["volume_yesterday"], abs=0.01)
    change = (expected["volume"] - expected["volume_yesterday"]) / expected["volume_yesterday"] * 100
    assert summary["volume_change_pct"] == pytest.approx(change, abs=1e-6)


def test_html_has_the_figures_and_no_code(rendered, expected, report_day) -> None:
    result, _ = rendered
    assert result.html.exists() and result.notebook == result.html.with_suffix(".ipynb")
    html = result.html.read_text(encoding="utf-8")
    assert f"{expected['transactions']:,}".replace(",", "\u00a0") in html
    assert f"{expected['volume']:,.0f}".replace(",", "\u00a0") + "\u00a0KZT" in html
    assert expected["top"][0][0] in html
    assert f"<title>daily_report (date={report_day})</title>" in html
    assert "data:image/png;base64" in html  # the 30-day chart, embedded
    assert "get_ipython().run_cell_magic" not in html and "def kzt" not in html  # code cells are hidden
    executed = nbformat.read(result.notebook, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_rerun_from_the_command_line_makes_no_provider_call(rendered, demo, admin_engine, report_day, tmp_path):
    result, before_first = rendered
    first = [row for row in _audit_rows_after(admin_engine, before_first) if row.notebook == NOTEBOOK.name]
    assert len(first) == ASK_CELLS and all(row.status == "ok" and row.source == "ask" for row in first)
    before = _max_audit_id(admin_engine)
    html = tmp_path / "again.html"
    args = ["report", str(NOTEBOOK), "--param", f"date={report_day}", "--html", str(html)]
    proc = subprocess.run(
        [sys.executable, "-m", "paysql_magic.cli", *args, "--database-url", demo.reader_url],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"HTML report: {html}" in proc.stdout and f"Executed notebook: {tmp_path / 'again.ipynb'}" in proc.stdout
    assert "Rendered in" in proc.stdout
    rerun = [row for row in _audit_rows_after(admin_engine, before) if row.notebook == NOTEBOOK.name]
    assert len(rerun) == ASK_CELLS and all(row.cached for row in rerun)  # every SQL from the query cache
    again = nbformat.read(tmp_path / "again.ipynb", as_version=4)
    summary = next(c for c in again.cells if "summary" in c.metadata.get("tags", []))
    assert summary.outputs[0]["data"]["application/json"] == result.summary  # the same report


def test_a_failing_cell_is_one_line_naming_it(demo, tmp_path, capsys, monkeypatch) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("top_n = 5", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os"),
        nbformat.v4.new_code_cell("share = 100 / (top_n - 3)  # fails for top_n = 3"),
    ]
    nbformat.write(nb, tmp_path / "broken.ipynb")
    monkeypatch.chdir(tmp_path)  # no --html, no --output: the executed copy goes to the current directory
    code = cli.main(["report", "broken.ipynb", "--param", "top_n=3", "--database-url", demo.reader_url])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert err.startswith("paysql: cell 4 (share = 100 / (top_n - 3)  # fails for top_n = 3) failed: ZeroDivisionError")
    assert err.endswith(f"(executed so far: {tmp_path / 'broken.executed.ipynb'})")
    partial = nbformat.read(tmp_path / "broken.executed.ipynb", as_version=4)
    assert partial.cells[1].source == "# Parameters\ntop_n = 3\n"
