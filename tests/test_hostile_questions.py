"""Hostile questions through %%ask in a real InteractiveShell, with a loopback Gemini that answers every request
(repairs included) with the worst SQL it can: each call ends in one refusal line, writes one audit row, changes
no table and prints no secret."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy import Engine, text
from test_secrets import PASSWORD, reader_with_password

from paysql_magic.errors import SqlRefused
from paysql_magic.loopback import Loopback, Recorded
from paysql_magic.providers.structured import sql_of_reply

DATA = Path(__file__).parent / "data"
QUESTIONS = [q for q in (DATA / "hostile_questions.txt").read_text(encoding="utf-8").splitlines() if q.strip()]
WORST_SQL = [s for s in (DATA / "hostile_sql.txt").read_text(encoding="utf-8").splitlines() if s.strip()]
FAKE_KEY = "AIzaFAKE-hostile-key-0123456789"
TABLES = ("customers", "merchants", "mcc_codes", "transactions")


@pytest.fixture(scope="module")
def gemini() -> Iterator[Loopback]:
    """A loopback Gemini answering every request with the next line of ``hostile_sql.txt``, round and round, in a
    ```sql fence (the reply reaches the guard verbatim; so does a structured reply, see the test below)."""
    server = Loopback()
    worst = itertools.cycle(WORST_SQL)

    def hostile(_: Recorded) -> tuple[int, dict]:
        return Loopback.gemini_text(f"```sql\n{next(worst)}\n```")

    server.always("gemini", hostile)
    yield server
    server.close()


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in (*TABLES, "paysql.query_audit_log")
        }


@pytest.fixture(scope="module")
def secret_url(admin_engine: Engine, reader_url: str) -> str:
    return reader_with_password(admin_engine, reader_url)


@pytest.fixture(scope="module")
def before(admin_engine: Engine) -> dict[str, int]:
    return _counts(admin_engine)


@pytest.mark.parametrize("question", QUESTIONS)
def test_hostile_question_ends_in_one_refusal_line_and_one_audit_row(
    question, before, gemini, secret_url, admin_engine, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", gemini.url)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "paysql_magic")
    audited = _counts(admin_engine)["paysql.query_audit_log"]
    shell.rl_next_input = None
    result = shell.run_cell(f"%%ask --conn {secret_url} --provider gemini --fresh\n{question}")

    assert isinstance(result.error_in_exec, SqlRefused), result.error_in_exec
    out = capsys.readouterr()
    errors = [line for line in (out.out + out.err).splitlines() if line.startswith("paysql:")]
    assert len(errors) == 1 and "refused" in errors[0], out
    assert "Traceback" not in out.out + out.err
    assert PASSWORD not in out.out + out.err + str(result.error_in_exec) and FAKE_KEY not in out.out + out.err
    assert shell.rl_next_input is None  # nothing refused is offered as a cell
    assert _counts(admin_engine)["paysql.query_audit_log"] == audited + 1
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT status, attempts FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).one()
    assert (row.status, row.attempts) == ("refused", 3)  # the first answer and two repairs, all hostile


def test_no_table_changed_and_every_call_was_audited(before, gemini, admin_engine) -> None:
    after = _counts(admin_engine)
    assert {t: after[t] for t in TABLES} == {t: before[t] for t in TABLES}
    assert after["paysql.query_audit_log"] == before["paysql.query_audit_log"] + len(QUESTIONS)
    assert len(gemini.requests) == 3 * len(QUESTIONS)


@pytest.mark.parametrize(
    "worst",
    [
        "SELECT 1; COMMIT; DELETE FROM transactions",
        "PREPARE q AS SELECT * FROM x",
        "CREATE TABLE stolen AS SELECT * FROM customers",
    ],
)
def test_structured_reply_reaches_the_guard_verbatim(worst: str) -> None:
    reply = {"sql": worst, "tables": [], "assumptions": [], "needs_clarification": None}
    assert sql_of_reply(json.dumps(reply)) == worst
