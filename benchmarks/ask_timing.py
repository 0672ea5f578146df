"""%%ask wall time with the offline provider on the demo database: median of N calls and the share per stage.

    .venv/bin/python benchmarks/ask_timing.py [--data-dir DIR] [--rows N] [--calls 20]

Uses the embedded demo database (created by `paysql demo` if it is not there yet).
"""

from __future__ import annotations

import argparse
import io
import statistics
from contextlib import redirect_stdout
from pathlib import Path
from time import perf_counter

from IPython.core.interactiveshell import InteractiveShell

from paysql_magic.demo import default_data_dir, start_demo

QUESTION = "Топ 5 категорий MCC по объему транзакций сегодня"
STAGES = ("schema", "prompt", "llm", "extract", "guard", "execute", "audit")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()

    demo = start_demo(args.data_dir, rows=args.rows)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "paysql_magic")
    shell.run_line_magic("config", "Ask.insert_cell = False")
    shell.run_line_magic("ask", f"--conn {demo.reader_url}")
    magics = shell.magics_manager.registry["Ask"]

    walls, stages = [], {s: [] for s in STAGES}
    for i in range(args.calls + 1):
        start = perf_counter()
        with redirect_stdout(io.StringIO()):
            frame = magics.ask("", QUESTION)
        wall = (perf_counter() - start) * 1000
        for stage in STAGES:
            stages[stage].append(magics.last_result.timings_ms.get(stage, 0.0))
        if i == 0:  # the first call introspects the schema; the rest use the cache
            print(f"first call (schema introspected): {wall:.1f} ms, schema {stages['schema'][0]:.1f} ms")
            for s in STAGES:
                stages[s].clear()
            continue
        walls.append(wall)
    assert frame is not None and len(frame) == 5
    median = statistics.median(walls)
    print(f"%%ask wall time, offline provider, {demo.rows:,} rows, median of {args.calls}: {median:.1f} ms")
    for stage in STAGES:
        m = statistics.median(stages[stage])
        print(f"  {stage:<8} {m:7.1f} ms  {100 * m / median:5.1f}%")


if __name__ == "__main__":
    main()
