"""Fetch 10k, 100k and 1M rows of ``transactions`` three ways and print rows/s and ratios (a script, not a test).

- read_sql: ``pandas.read_sql`` over SQLAlchemy/psycopg2, what users have without paysql-magic;
- ours: ``run_query`` as the reader role, ``max_rows`` large enough (the COPY -> Arrow path above
  ``FAST_PATH_MIN_ROWS``);
- raw COPY: ``COPY (query) TO STDOUT (FORMAT binary)`` read into nothing through a psycopg 3 connection, the limit.

    .venv/bin/python benchmarks/fetch.py --data-dir /tmp/demo_m
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

import pandas as pd
import psycopg
from sqlalchemy import create_engine, make_url

from paysql_magic.demo import default_data_dir, start_demo
from paysql_magic.execute import run_query

SIZES = (10_000, 100_000, 1_000_000)


def _best_of(repeat: int, call: Callable[[], int]) -> tuple[float, int]:
    """The shortest wall time of ``repeat`` calls (seconds) and the rows the last call fetched."""
    best, rows = float("inf"), 0
    for _ in range(repeat):
        start = perf_counter()
        rows = call()
        best = min(best, perf_counter() - start)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per figure (default 3)")
    args = parser.parse_args()

    demo = start_demo(args.data_dir)
    url = make_url(demo.reader_url)
    baseline_engine = create_engine(url.set(drivername="postgresql+psycopg2"))
    our_engine = create_engine(url.set(drivername="postgresql+psycopg"))
    libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def read_sql(sql: str) -> int:
        with baseline_engine.connect() as conn:
            return len(pd.read_sql(sql, conn))

    def ours(sql: str, n: int) -> int:
        return run_query(our_engine, sql, max_rows=n, timeout_s=300).row_count

    def raw_copy(sql: str) -> int:
        with psycopg.connect(libpq_url) as conn, conn.cursor() as cur:
            with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy, open("/dev/null", "wb") as sink:
                for block in copy:
                    sink.write(block)
            return cur.rowcount

    print(f"demo database: {demo.rows} transactions, best of {args.repeat}")
    print(
        f"{'rows':>9} {'read_sql rows/s':>16} {'ours rows/s':>13} {'raw rows/s':>12} {'ours/base':>10} {'ours/raw':>9}"
    )
    last = None
    for n in SIZES:
        sql = f"SELECT * FROM transactions LIMIT {n}"
        base_s, base_rows = _best_of(args.repeat, lambda sql=sql: read_sql(sql))
        our_s, our_rows = _best_of(args.repeat, lambda sql=sql, n=n: ours(sql, n))
        raw_s, raw_rows = _best_of(args.repeat, lambda sql=sql: raw_copy(sql))
        assert base_rows == our_rows == raw_rows, (base_rows, our_rows, raw_rows)
        speedup, overhead = base_s / our_s, our_s / raw_s
        print(
            f"{n:>9} {base_rows / base_s:>16,.0f} {our_rows / our_s:>13,.0f} {raw_rows / raw_s:>12,.0f} "
            f"{speedup:>9.2f}x {overhead:>8.2f}x"
        )
        last = (our_s, base_s, raw_s, speedup, overhead)
    our_s, base_s, raw_s, speedup, overhead = last
    print(
        f"fetch 1M rows: ours {our_s:.2f} s, read_sql {base_s:.2f} s, raw COPY {raw_s:.2f} s, "
        f"speedup {speedup:.2f}x, overhead {overhead:.2f}x"
    )
    baseline_engine.dispose()
    our_engine.dispose()


if __name__ == "__main__":
    main()
