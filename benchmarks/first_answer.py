"""Time to the first answer in a fresh process: paysql-magic's ``%%ask`` against jupysql's ``%%sql``.

Each repetition starts two fresh Python processes, in alternating order, each timing from its first statement to
a DataFrame on screen: import IPython and make a shell, ``%load_ext``, then the first question: ``%%ask`` for
paysql-magic (the offline provider; the query cache as it is, so a question the demo's quickstart asked comes
from it, as for an analyst right after ``paysql demo``; ``--fresh`` generates anew), and for jupysql
``%load_ext sql``, ``%config SqlMagic.autopandas = True``, ``%sql URL`` and the same SQL in a ``%%sql`` cell. One
unmeasured pair warms the disk cache first. Prints one line, the medians:

    first answer: paysql X.XX s, jupysql Y.YY s (ratio R.RR)

    .venv/bin/python benchmarks/first_answer.py [--repeat 5] [--conn URL | --data-dir DIR] [--question Q] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Топ 10 мерчантов по объему транзакций"

_PAYSQL = """
import time
started = time.perf_counter()
import os
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
shell = InteractiveShell.instance()
with capture_output():
    shell.run_line_magic("load_ext", "paysql_magic")
    result = shell.run_cell("%%ask --conn " + os.environ["BENCH_URL"] + os.environ["BENCH_OPTIONS"]
                            + " -o answer\\n" + os.environ["BENCH_QUESTION"])
assert result.success and len(shell.user_ns["answer"]) > 0, result.error_in_exec
print("BENCH", time.perf_counter() - started, flush=True)
"""

_JUPYSQL = """
import time
started = time.perf_counter()
import os
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
shell = InteractiveShell.instance()
with capture_output():
    shell.run_line_magic("load_ext", "sql")
    shell.run_line_magic("config", "SqlMagic.autopandas = True")
    shell.run_line_magic("config", "SqlMagic.displaycon = False")
    shell.run_line_magic("sql", os.environ["BENCH_URL"])
    result = shell.run_cell("%%sql answer <<\\n" + os.environ["BENCH_SQL"])
    result = shell.run_cell("answer")
assert result.success and len(shell.user_ns["answer"]) > 0, result.error_in_exec
print("BENCH", time.perf_counter() - started, flush=True)
"""


def _seconds(code: str, env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"first_answer: a run failed:\n{done.stderr[-2000:]}")
    return float(next(line for line in done.stdout.splitlines() if line.startswith("BENCH ")).split()[1])


def _url(args: argparse.Namespace) -> str:
    if args.conn:
        return args.conn
    from paysql_magic.demo import start_demo

    return start_demo(args.data_dir).reader_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="Measured pairs of fresh processes (default 5).")
    parser.add_argument("--conn", metavar="URL", help="Database URL (default: the embedded demo database).")
    parser.add_argument("--data-dir", help="Data dir of the embedded demo database (default: PAYSQL_DEMO_DIR, ...).")
    parser.add_argument("--question", default=QUESTION, help=f"The question (default: {QUESTION}).")
    parser.add_argument("--fresh", action="store_true", help="paysql generates the SQL anew (no query cache).")
    args = parser.parse_args(argv)

    from paysql_magic import core
    from paysql_magic.connection import engine_for

    url = _url(args)
    sql = core.ask(args.question, engine_for(url), execute=False).sql  # the same SQL for jupysql
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "BENCH_URL": url,
        "BENCH_SQL": sql,
        "BENCH_QUESTION": args.question,
        "BENCH_OPTIONS": " --fresh" if args.fresh else "",
    }
    _seconds(_PAYSQL, env), _seconds(_JUPYSQL, env)  # warm-up, not measured
    paysql, jupysql = [], []
    for i in range(max(1, args.repeat)):
        order = [(_PAYSQL, paysql), (_JUPYSQL, jupysql)]
        for code, times in order if i % 2 == 0 else reversed(order):
            times.append(_seconds(code, env))
    ours, theirs = statistics.median(paysql), statistics.median(jupysql)
    print(f"first answer: paysql {ours:.2f} s, jupysql {theirs:.2f} s (ratio {ours / theirs:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
