"""Output that reads like the rest of Jupyter: short declines, notes on stdout, plain help, completion, hints, the
row cap left off one-row aggregates, and the CLI reading the same environment as the magic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from paysql_magic import guard, magic
from paysql_magic.demo import default_data_dir

ROOT = Path(__file__).parents[1]


@pytest.fixture
def run(shell, reader_url, monkeypatch):
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)

    def _run(cell: str):
        with capture_output() as captured:
            result = shell.run_cell(cell)
        return result, captured

    return _run


def test_a_decline_is_at_most_three_lines_saying_why_and_what_to_do(run) -> None:
    result, captured = run("%%ask\nКакая завтра будет погода в Париже?")
    assert not result.success
    lines = [line for line in (captured.stdout + captured.stderr).splitlines() if line.strip()]
    assert 1 <= len(lines) <= magic.MAX_ERROR_LINES, lines
    assert lines[0].startswith("paysql: ") and "offline" in lines[0].lower()  # why (the provider hint: once a process)
    assert "Traceback" not in captured.stdout + captured.stderr


def test_short_error_keeps_short_messages_and_cuts_long_ones() -> None:
    assert magic.short_error("cannot connect to x: refused") == "cannot connect to x: refused"
    long = "First line: why.\n" + "\n".join(f"  detail {i}." for i in range(12)) + "\nFor more, do Y and Z."
    short = magic.short_error(long)
    assert short.splitlines()[0] == "First line: why." and short.endswith("For more, do Y and Z.")
    assert len(short.splitlines()) <= 3


def test_help_has_no_restructuredtext_debris(shell) -> None:
    text = shell.object_inspect_text("%ask")
    assert "::" not in text and "%ask [-o NAME]" in text
    assert magic.Ask.ask.__doc__.lstrip().startswith("%ask [-o NAME]")


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # IPython's shell.complete, as a kernel calls it
def test_options_complete(shell) -> None:
    assert shell.complete("", "%%ask --pl", 10)[1] == ["--plot"]
    assert set(shell.complete("", "%ask --ex", 9)[1]) == {"--exact-decimal", "--explain", "--export"}


def test_sql_before_load_ext_sql_says_how(monkeypatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    fresh = InteractiveShell()  # not the session's shell: that one may have jupysql loaded already
    fresh.run_line_magic("load_ext", "paysql_magic")
    with capture_output() as captured:
        result = fresh.run_cell("%sql SELECT 1")
    assert not result.success
    assert "%load_ext sql" in captured.stdout + captured.stderr
    fresh.run_line_magic("load_ext", "sql")  # jupysql's own magic takes the name over
    assert fresh.find_magic("sql").__self__.__class__.__name__ == "SqlMagic"


def test_connection_note_is_on_stdout_with_a_readable_socket_path(shell, reader_url) -> None:
    with capture_output() as captured:
        shell.run_line_magic("ask", f"--conn {reader_url}")
    assert captured.stderr == ""
    line = captured.stdout.strip()
    assert line.startswith("paysql: connected to ") and "%2F" not in line
    if "host=/" in reader_url:
        assert "host=/" in line


@pytest.mark.parametrize(
    ("sql", "capped"),
    [
        ("SELECT count(*) FROM transactions", False),
        ("SELECT count(*) AS n, sum(amount_kzt) AS v FROM transactions WHERE status = 'approved'", False),
        ("SELECT 100.0 * count(*) FILTER (WHERE status = 'declined') / count(*) AS share FROM transactions", False),
        ("SELECT city, count(*) FROM merchants GROUP BY city", True),
        ("SELECT sum(amount_kzt) OVER () FROM transactions", True),
        ("SELECT merchant_name FROM merchants", True),
        ("SELECT count(*) FROM transactions UNION ALL SELECT 1", True),
    ],
)
def test_no_row_cap_on_a_query_that_returns_one_row(sql, capped) -> None:
    guarded = guard.check(sql, max_rows=100_000)
    assert guarded.limit_added is capped
    assert ("LIMIT 100000" in guarded.sql) is capped


def test_every_paysql_command_reads_paysql_demo_dir(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PAYSQL_DEMO_DIR", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("PAYSQL_DEMO_DIR")
    assert default_data_dir().name == "demo"


def test_paysql_ask_uses_the_demo_in_paysql_demo_dir(demo, tmp_path) -> None:
    if demo.data_dir is None:
        pytest.skip("needs the embedded demo server (PAYSQL_TEST_DATABASE_URL is set)")
    home = tmp_path / "home"  # where the default demo would be made, had the variable been ignored
    env = {**os.environ, "PAYSQL_DEMO_DIR": str(demo.data_dir), "PYTHONUNBUFFERED": "1", "HOME": str(home)}
    env.pop("XDG_DATA_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "paysql_magic.cli", "ask", "How many transactions were there today?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "total_transactions" in done.stdout
    assert not (home / ".local" / "share" / "paysql-magic").exists()


def test_the_wheel_ships_the_built_extension_as_shared_data() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shared = project["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared["paysql_magic/labextension"] == "share/jupyter/labextensions/paysql-magic"
    built = ROOT / "paysql_magic" / "labextension"
    package = json.loads((built / "package.json").read_text())
    assert package["name"] == "paysql-magic"
    assert (built / package["jupyterlab"]["_build"]["load"]).is_file()  # the remote entry the page loads
    assert "jupyterlab" in " ".join(project["project"]["optional-dependencies"]["test"])
