"""benchmarks/first_answer.py as a smoke run: one pair of fresh processes, the line's shape (no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "first_answer.py"


def test_first_answer_benchmark_prints_one_line(reader_url) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--repeat", "1", "--conn", reader_url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert re.fullmatch(r"first answer: paysql \d+\.\d\d s, jupysql \d+\.\d\d s \(ratio \d+\.\d\d\)", lines[0])
