"""Reproducible reruns: executing the same notebook twice makes no provider call the second time."""

from __future__ import annotations

import nbformat
from sqlalchemy import text

from paysql_magic.cli import run_notebook

QUESTIONS = ("Сколько мерчантов в каждом городе?", "Average amount by channel over the last 7 days")


def _notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext paysql_magic")]
    nb.cells += [nbformat.v4.new_code_cell(f"%%ask --fresh\n{QUESTIONS[0]}")]  # a first run that generates
    nb.cells += [nbformat.v4.new_code_cell(f"%%ask\n{q}") for q in QUESTIONS]
    nbformat.write(nb, path)


def _rows(engine, since: int) -> list:
    with engine.connect() as conn:
        sql = "SELECT executed_sql, cached, attempts, status FROM paysql.query_audit_log WHERE id > :id ORDER BY id"
        return conn.execute(text(sql), {"id": since}).mappings().all()


def _last_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM paysql.query_audit_log")).scalar_one()


def test_second_run_is_served_from_the_cache_with_identical_sql(reader_url, admin_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    path = tmp_path / "rerun.ipynb"
    _notebook(path)

    start = _last_id(admin_engine)
    first = run_notebook(path, tmp_path)
    middle = _last_id(admin_engine)
    second = run_notebook(path, tmp_path)
    second_rows = _rows(admin_engine, middle)
    first_rows = _rows(admin_engine, start)[: -len(second_rows)]

    assert [r["status"] for r in first_rows + second_rows] == ["ok"] * 6
    assert [r["cached"] for r in second_rows[1:]] == [True, True]
    assert [r["attempts"] for r in second_rows[1:]] == [0, 0]  # zero provider calls
    assert [r["executed_sql"] for r in second_rows[1:]] == [r["executed_sql"] for r in first_rows[1:]]
    assert not first_rows[0]["cached"] and first_rows[1]["cached"]  # --fresh generated, the next cell reused it

    outputs = [_stdout(cell) for cell in second.cells[2:]]
    assert all(", cached" in out for out in outputs)
    assert [_sql(c) for c in first.cells[2:]] == [_sql(c) for c in second.cells[2:]]


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def _sql(cell) -> str:
    """The SQL the cell printed (its ``-- `` note lines left out)."""
    return "\n".join(line for line in _stdout(cell).splitlines() if not line.startswith("-- "))
