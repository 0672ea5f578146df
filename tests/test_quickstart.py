"""The quickstart notebook, headless through nbclient, and `paysql demo` end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from paysql_magic.cli import run_notebook

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "quickstart.ipynb"


@pytest.fixture
def demo_env(demo, monkeypatch):
    if demo.data_dir is None:
        pytest.skip("the quickstart needs the embedded demo server (PAYSQL_TEST_DATABASE_URL is set)")
    monkeypatch.setenv("PAYSQL_DEMO_DIR", str(demo.data_dir))
    monkeypatch.setenv("PAYSQL_DEMO_ROWS", str(demo.rows))
    return demo


def _ask_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%ask")]


def _text(cell) -> str:
    parts = []
    for out in cell.outputs:
        parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_quickstart_runs_headless_without_errors(demo_env, tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    asks = _ask_cells(nb)
    assert len(asks) >= 9
    for cell in asks:
        result = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert result and "text/html" in result[0]["data"], cell.source  # a DataFrame came back
    questions = {c.source.splitlines()[1]: _text(c) for c in asks}
    assert "total_transactions" in questions["Сколько всего транзакций в базе?"]
    assert "merchant_name" in questions["Топ 10 мерчантов по объему транзакций"]
    assert "mcc_category" in questions["Top 5 MCC categories by volume today"]
    assert "-- follows up: Daily volume for the last 30 days -> now by week" in questions["а теперь только по Алматы"]
    assert "'Almaty'" in questions["а теперь только по Алматы"] and "week" in questions["а теперь только по Алматы"]
    assert (
        "IN ('Almaty', 'Astana')" in questions["Топ {top_n} мерчантов по объему за последние 7 дней в городах {cities}"]
    )
    csv = (tmp_path / "top_merchants.csv").read_text().splitlines()
    assert csv[0] == "merchant_name,total_volume" and len(csv) == 11
    assert len(pd.read_excel(tmp_path / "top_merchants.xlsx")) == 10  # %ask --export
    charted = {c.source.splitlines()[1] for c in asks if any("image/png" in o.get("data", {}) for o in c.outputs)}
    plotted = {"Top 5 MCC categories by volume today", "Daily volume for the last 30 days"}  # the two --plot
    assert charted == plotted | {"now by week", "а теперь только по Алматы"}  # and the follow-ups of the chart
    for cell in (c for c in asks if c.source.splitlines()[1] in charted):  # the chart is under the table
        kinds = [o.output_type for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
        assert kinds == ["execute_result", "display_data"], cell.source
    audit_output = _text(nb.cells[-1])
    assert "ask" in audit_output and "edited" in audit_output and "ok" in audit_output


def test_paysql_demo_reuses_the_database_and_prints_questions_sql_and_rows(demo_env):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "paysql_magic.cli",
            "demo",
            "--data-dir",
            str(demo_env.data_dir),
            "--rows",
            str(demo_env.rows),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Demo dataset reused" in out
    assert "postgresql://paysql_reader@" in out
    assert "-- ask: Сколько транзакций было сегодня?" in out
    assert "SELECT" in out and "total_transactions" in out
    executed = nbformat.read(demo_env.data_dir / "quickstart" / "quickstart.executed.ipynb", as_version=4)
    assert len(_ask_cells(executed)) >= 9
