"""`paysql check`: today vs yesterday on the test database, thresholds that trip and that do not, the webhook."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from sqlalchemy import text

from paysql_magic import cli
from paysql_magic.alerts import Check, NotANumber, Outcome, change_pct, number, parse_percent
from paysql_magic.errors import ConfigError

pytest_plugins = ["loopback"]

# questions no other module asks: a cached answer inserts no reviewed cell, which test_magic checks
TODAY = "Сколько платежей прошло сегодня?"
YESTERDAY = "Сколько платежей прошло вчера?"
NAME = f"{TODAY} vs {YESTERDAY}"


class Webhook:
    """A loopback HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/secret-token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.close()


@pytest.fixture(scope="module")
def figures(admin_engine) -> tuple[int, int, float]:
    """Transactions today and yesterday (the database's current_date, Asia/Almaty days) and the change in %."""
    day = "(transaction_ts AT TIME ZONE 'Asia/Almaty')::date"
    with admin_engine.connect() as conn:
        today, yesterday = conn.execute(
            text(
                f"SELECT count(*) FILTER (WHERE {day} = current_date), "
                f"count(*) FILTER (WHERE {day} = current_date - 1) FROM transactions"
            )
        ).one()
    assert today != yesterday and yesterday > 0  # the data makes the change non-zero
    return today, yesterday, (today - yesterday) / yesterday * 100


def _check(capsys, *args: str) -> tuple[int, list[str], str]:
    code = cli.main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_a_change_beyond_the_limit_fails_prints_the_figures_and_posts_the_alert(
    capsys, reader_url, admin_engine, figures, webhook
) -> None:
    today, yesterday, change = figures
    limit = math.floor(abs(change) / 2)
    args = [TODAY, "--compare-to", YESTERDAY, "--max-change", f"{limit}%", "--webhook", webhook.url]
    code, out, err = _check(capsys, *args, "--database-url", reader_url)
    assert code == 1, err
    assert out == [f"FAIL {NAME}: {today:,} vs {yesterday:,} ({change:+.1f}%, limit ±{limit}%)"]
    [alert] = webhook.received
    assert alert["failed"] is True and alert["text"] == out[0]
    assert datetime.fromisoformat(alert["timestamp"]).tzinfo is not None
    [sent] = alert["checks"]
    assert sent["status"] == "fail" and sent["question"] == TODAY and sent["compare_to"] == YESTERDAY
    assert (sent["current"], sent["previous"], sent["max_change"]) == (today, yesterday, limit)
    assert sent["change_pct"] == pytest.approx(change)
    with admin_engine.connect() as conn:
        audited = conn.execute(
            text("SELECT question, status FROM paysql.query_audit_log WHERE source = 'check' ORDER BY id DESC LIMIT 2")
        ).all()
    assert set(audited) == {(TODAY, "ok"), (YESTERDAY, "ok")}  # the magic's path, audited as a check


def test_a_change_within_the_limit_passes_and_posts_nothing(capsys, reader_url, figures, webhook) -> None:
    today, yesterday, change = figures
    limit = math.ceil(abs(change)) + 1
    args = [TODAY, "--compare-to", YESTERDAY, "--max-change", str(limit), "--webhook", webhook.url]
    code, out, _ = _check(capsys, *args, "--database-url", reader_url)
    assert code == 0
    assert out == [f"OK {NAME}: {today:,} vs {yesterday:,} ({change:+.1f}%, limit ±{limit}%)"]
    assert webhook.received == []


def test_an_unreachable_webhook_is_reported_without_masking_the_failure(capsys, reader_url, closed_url) -> None:
    args = [TODAY, "--compare-to", YESTERDAY, "--max-change", "0%", "--webhook", closed_url + "/t/secret"]
    code, out, err = _check(capsys, *args, "--database-url", reader_url)
    assert code == 1 and out[0].startswith("FAIL ")
    assert err.strip().startswith("paysql check: webhook at 127.0.0.1:") and "secret" not in err


def test_checks_from_a_yaml_file(capsys, reader_url, figures, tmp_path) -> None:
    today, _, _ = figures
    path = tmp_path / "checks.yaml"
    path.write_text(
        "- name: transactions today vs all time\n"
        f"  question: {TODAY}\n"
        "  compare_to: Сколько всего платежей в базе?\n"
        "  max_change: 20%\n"
        "- name: some payments today\n"
        "  question: How many payments were made today?\n"
        "  min: 1\n"
        f"  max: {today + 1}\n",
        encoding="utf-8",
    )
    code, out, _ = _check(capsys, "--file", str(path), "--database-url", reader_url)
    assert code == 1
    assert out[0].startswith(f"FAIL transactions today vs all time: {today:,} vs ") and out[0].endswith(", limit ±20%)")
    assert out[1] == f"OK some payments today: {today:,}"


def test_an_unanswerable_question_exits_2_with_one_line(capsys, reader_url, admin_engine) -> None:
    code, out, _ = _check(
        capsys, "Как дела у кота?", "--compare-to", YESTERDAY, "--max-change", "20%", "--database-url", reader_url
    )
    assert code == 2 and len(out) == 1
    assert out[0].startswith("ERROR Как дела у кота? vs ") and "кота" in out[0].split(":", 1)[1]
    with admin_engine.connect() as conn:
        last = conn.execute(text("SELECT source, status FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).one()
    assert tuple(last) == ("check", "declined")


def test_wrong_arguments_exit_2(capsys, reader_url, tmp_path) -> None:
    code, _, err = _check(capsys, TODAY, "--compare-to", YESTERDAY, "--database-url", reader_url)
    assert code == 2 and err.strip() == (f"paysql check: check '{NAME}': compare_to and max_change go together")
    (tmp_path / "bad.yaml").write_text("- question: x\n  treshold: 5\n", encoding="utf-8")
    code, _, err = _check(capsys, "--file", str(tmp_path / "bad.yaml"), "--database-url", reader_url)
    assert code == 2 and "unknown field treshold" in err


def test_one_number_per_question() -> None:
    assert number(pd.DataFrame({"city": ["Almaty"], "n": pd.array([7], dtype="Int64")}), "q") == 7
    assert number(pd.DataFrame({"total_volume": [float("nan")]}), "q") == 0  # SUM over no rows
    with pytest.raises(NotANumber, match="gave no rows"):
        number(pd.DataFrame({"n": []}), "q")
    with pytest.raises(NotANumber, match=r"gave no number \(columns: city, flag\)"):
        number(pd.DataFrame({"city": ["Almaty"], "flag": [True]}), "q")


def test_change_from_zero_is_infinite() -> None:
    assert change_pct(5, 0) == math.inf and change_pct(0, 0) == 0 and change_pct(90, 100) == pytest.approx(-10)
    check = Check("refunds", "a", "b", 20.0)
    outcome = Outcome(check, 3.0, 0.0, change_pct(3, 0), failed=True)
    assert outcome.line() == "FAIL refunds: 3 vs 0 (previous is 0: infinite change, limit ±20%)"
    assert outcome.as_json()["change_pct"] is None and outcome.as_json()["infinite_change"] is True
    assert parse_percent("12.5%") == 12.5 and parse_percent(20) == 20
    with pytest.raises(ConfigError):
        parse_percent("a lot")
