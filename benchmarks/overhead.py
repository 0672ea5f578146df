"""The `%%ask` overhead in a real InteractiveShell, and schema introspection time for 300 tables.

    .venv/bin/python benchmarks/overhead.py [--data-dir DIR] [--calls 50]

Overhead = wall time of the cell minus the provider's time minus the database's execution time (offline
provider, schema cached, a 10-row result, the query cache bypassed with --fresh so every call is a full run).
Then a database with 300 generated tables (foreign keys and comments) is created on the same server and
`schema.introspect` is timed on it (median of 5, each a fresh read).
"""

from __future__ import annotations

import argparse
import io
import statistics
from contextlib import redirect_stdout
from pathlib import Path
from time import perf_counter

import psycopg
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy.engine import make_url

from paysql_magic.connection import engine_for
from paysql_magic.demo import default_data_dir, start_demo
from paysql_magic.schema import introspect

QUESTION = "Топ 10 мерчантов по объему транзакций за последние 7 дней"
STAGES = ("schema", "prompt", "extract", "guard", "validate", "audit")
TABLES = 300


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def ask_overhead(reader_url: str, calls: int) -> None:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "paysql_magic")
    shell.run_line_magic("config", "Ask.insert_cell = False")
    with redirect_stdout(io.StringIO()):
        shell.run_line_magic("ask", f"--conn {reader_url}")
    magics = shell.magics_manager.registry["Ask"]
    walls, overheads, stages = [], [], {s: [] for s in (*STAGES, "rest")}
    for i in range(calls + 1):
        start = perf_counter()
        with redirect_stdout(io.StringIO()):
            frame = magics.ask("--fresh", QUESTION)
        wall = (perf_counter() - start) * 1000
        t = magics.last_result.timings_ms
        if i == 0:  # the first call introspects the schema and loads the parser
            continue
        overhead = wall - t.get("llm", 0.0) - t.get("execute", 0.0)
        walls.append(wall)
        overheads.append(overhead)
        for stage in STAGES:
            stages[stage].append(t.get(stage, 0.0))
        stages["rest"].append(overhead - sum(t.get(s, 0.0) for s in STAGES))
    assert frame is not None and len(frame) == 10
    print(f"%%ask wall time: median {statistics.median(walls):.1f} ms, p95 {p95(walls):.1f} ms ({calls} calls)")
    print(f"%%ask overhead (wall - provider - execution): median {statistics.median(overheads):.1f} ms, "
          f"p95 {p95(overheads):.1f} ms")  # fmt: skip
    for stage, values in stages.items():
        print(f"  {stage:<9} median {statistics.median(values):6.2f} ms  p95 {p95(values):6.2f} ms")


def schema_300(admin_url: str) -> None:
    url = make_url(admin_url)
    maintenance = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS schema300")
        conn.execute("CREATE DATABASE schema300")
    target = url.set(database="schema300").render_as_string(hide_password=False)
    with psycopg.connect(target) as conn:
        for i in range(TABLES):
            ref = f", parent_id int REFERENCES t{i - 1}(id)" if i else ""
            conn.execute(f"CREATE TABLE t{i} (id int PRIMARY KEY, name text, kind text, amount numeric(14,2), "
                         f"created_at timestamptz{ref})")  # fmt: skip
            conn.execute(f"COMMENT ON TABLE t{i} IS 'generated table {i}'")
            conn.execute(f"COMMENT ON COLUMN t{i}.amount IS 'amount in KZT'")
        conn.execute("ANALYZE")
    engine = engine_for(target)
    times = []
    for _ in range(5):
        start = perf_counter()
        schema = introspect(engine, refresh=True)
        times.append((perf_counter() - start) * 1000)
    assert len(schema.tables) == TABLES
    print(f"schema introspection, {TABLES} tables: median {statistics.median(times):.0f} ms (5 reads)")
    engine.dispose()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute("DROP DATABASE schema300")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    demo = start_demo(args.data_dir)
    ask_overhead(demo.reader_url, args.calls)
    schema_300(demo.admin_url)


if __name__ == "__main__":
    main()
