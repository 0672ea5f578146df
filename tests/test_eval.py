"""`paysql eval` end to end on the real test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import text

pytest_plugins = ["loopback"]

TODAY = "transaction_ts >= current_date AND transaction_ts < current_date + 1"
QUESTIONS = [
    {"id": "c1", "lang": "ru", "question": "Сколько транзакций было сегодня?",
     "gold_sql": f"SELECT count(*) AS total_transactions FROM transactions WHERE {TODAY}", "ordered": False},
    {"id": "w1", "lang": "en", "question": "How many transactions were there today?",
     "gold_sql": "SELECT count(*) + 1 AS total_transactions FROM transactions", "ordered": False},
    {"id": "d1", "lang": "ru", "question": "Какая завтра погода в Астане?",
     "gold_sql": "SELECT 1", "ordered": False},
    {"id": "e1", "lang": "en", "question": "Top 5 merchants by volume",
     "gold_sql": "SELECT no_such_column FROM merchants", "ordered": True},
    {"id": "c2", "lang": "en", "question": "Daily volume for the last 7 days",
     "gold_sql": "SELECT transaction_ts::date AS day, SUM(amount_kzt) AS total_volume FROM transactions "
                 "WHERE transaction_ts >= current_date - 6 GROUP BY day ORDER BY day", "ordered": True},
]  # fmt: skip


def test_eval_prints_one_line_per_question_per_language_and_the_total_last(tmp_path, reader_url, admin_engine):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS), encoding="utf-8")
    out_json = tmp_path / "out.json"
    with admin_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM paysql.query_audit_log WHERE source = 'eval'")).scalar_one()
    proc = subprocess.run(
        [sys.executable, "-m", "paysql_magic.cli", "eval", "--questions", str(questions),
         "--database-url", reader_url, "--json", str(out_json)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    verdicts = {line.split("\t")[0]: line.split("\t")[1] for line in lines[:5]}
    assert verdicts == {"c1": "correct", "w1": "wrong", "d1": "declined", "e1": "error", "c2": "correct"}
    c1 = lines[0].split("\t")
    assert len(c1) == 3 and c1[2].startswith("SELECT") and "\n" not in c1[2]
    assert "gold SQL failed" in lines[3]
    assert lines[5] == "ru: 1/2 (50.0%) wrong: 0 declined: 1 error: 0"
    assert lines[6] == "en: 1/3 (33.3%) wrong: 1 declined: 0 error: 1"
    assert lines[-1] == "execution accuracy: 2/5 (40.0%) wrong: 1 declined: 1 error: 1"
    assert "eval (offline)" in proc.stderr  # the progress bar goes to stderr
    records = json.loads(out_json.read_text())
    assert [r["verdict"] for r in records] == ["correct", "wrong", "declined", "error", "correct"]
    assert records[0]["sql"] and records[0]["timings_ms"]["execute"] >= 0
    with admin_engine.connect() as conn:
        after = conn.execute(text("SELECT count(*) FROM paysql.query_audit_log WHERE source = 'eval'")).scalar_one()
    assert after == before + 5


def test_eval_runs_an_llm_provider_the_same_way(tmp_path, reader_url, ollama_server):
    """`--provider ollama` through the real ollama client against a loopback server speaking its protocol."""
    right = "SELECT count(*) AS total_transactions FROM transactions"
    wrong = "SELECT count(*) AS total_transactions FROM merchants"
    for sql in (right, wrong):
        reply = {"sql": sql, "tables": ["transactions"], "assumptions": [], "needs_clarification": None}
        ollama_server.reply("chat", ollama_server.ollama_chat(json.dumps(reply)))
    questions = tmp_path / "q.jsonl"
    cases = [
        {"id": "a", "lang": "en", "question": "How many transactions are there?", "gold_sql": right, "ordered": False},
        {"id": "b", "lang": "ru", "question": "Сколько всего транзакций?", "gold_sql": right, "ordered": False},
    ]
    questions.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in cases), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "paysql_magic.cli", "eval", "--questions", str(questions), "--provider", "ollama",
         "--model", "qwen2.5-coder:7b", "--database-url", reader_url],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OLLAMA_HOST": ollama_server.url},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split("\t")[1] for line in lines[:2]] == ["correct", "wrong"]
    assert lines[-1] == "execution accuracy: 1/2 (50.0%) wrong: 1 declined: 0 error: 0"
    assert len([r for r in ollama_server.requests if r.path == "/api/chat"]) == 2


def test_a_missing_or_malformed_question_file_is_one_line(tmp_path, reader_url):
    malformed = tmp_path / "bad.jsonl"
    malformed.write_text(json.dumps(QUESTIONS[0], ensure_ascii=False) + "\nnot json\n", encoding="utf-8")
    for path, expected in ((tmp_path / "nowhere.jsonl", "cannot read the questions in"), (malformed, "bad.jsonl:2:")):
        proc = subprocess.run(
            [sys.executable, "-m", "paysql_magic.cli", "eval", "--questions", str(path), "--database-url", reader_url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 1 and proc.stdout == ""
        assert len(proc.stderr.splitlines()) == 1 and expected in proc.stderr
