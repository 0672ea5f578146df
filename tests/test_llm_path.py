"""The LLM path end to end through the real ollama and google-genai clients against loopback servers:
self-correction with attempts audited, and a notebook rerun that makes no provider call the second time."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import nbformat
from sqlalchemy import text

from paysql_magic import core
from paysql_magic.cli import run_notebook
from paysql_magic.providers.gemini import GeminiProvider
from paysql_magic.providers.ollama import OllamaProvider

if TYPE_CHECKING:
    from loopback import Loopback, Recorded

pytest_plugins = ["loopback"]

RIGHT = "SELECT sum(amount_kzt) AS total_volume FROM transactions"
WRONG = "SELECT sum(amount) AS total_volume FROM transaction"


def _structured(sql: str) -> str:
    return json.dumps({"sql": sql, "tables": ["transactions"], "assumptions": [], "needs_clarification": None})


def _last(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")).mappings().one()


def test_ollama_wrong_sql_is_repaired_and_audited_with_two_attempts(
    ollama_server: Loopback, reader_engine, admin_engine
):
    ollama_server.reply("chat", ollama_server.ollama_chat(_structured(WRONG)), ollama_server.ollama_chat(RIGHT))
    provider = OllamaProvider("qwen2.5-coder:7b", host=ollama_server.url)
    result = core.ask(f"Total volume ({uuid.uuid4().hex[:6]})", reader_engine, provider=provider)
    assert result.frame["total_volume"].iloc[0] > 0
    chats = [r for r in ollama_server.requests if r.path == "/api/chat"]
    assert len(chats) == 2
    repair = chats[1].body["messages"][-1]["content"]
    assert "transaction" in repair and "Your previous SQL failed" in repair
    row = _last(admin_engine)
    assert (row["status"], row["attempts"], row["provider"]) == ("ok", 2, "ollama")


def test_gemini_wrong_sql_is_repaired_too(gemini_server: Loopback, reader_engine, admin_engine):
    gemini_server.reply("gemini", gemini_server.gemini_text(_structured(WRONG)), gemini_server.gemini_text(RIGHT))
    provider = GeminiProvider("gemini-test", api_key="test-key", base_url=gemini_server.url, attempts=1)
    result = core.ask(f"Total volume ({uuid.uuid4().hex[:6]})", reader_engine, provider=provider)
    assert result.frame["total_volume"].iloc[0] > 0
    assert (_last(admin_engine)["attempts"], _last(admin_engine)["provider"]) == (2, "gemini")


QUESTIONS = {
    f"Сколько мерчантов в Алматы? ({uuid.uuid4().hex[:6]})": "SELECT count(*) AS merchant_count FROM merchants "
    "WHERE city = 'Almaty'",
    f"Volume by channel ({uuid.uuid4().hex[:6]})": "SELECT channel, sum(amount_kzt) AS total_volume "
    "FROM transactions GROUP BY channel",
}


def _answer(request: Recorded) -> tuple[int, dict]:
    asked = request.body["messages"][-1]["content"]
    sql = next(sql for question, sql in QUESTIONS.items() if f"Question: {question}" in asked)
    return 200, {"model": "qwen2.5-coder:7b", "message": {"role": "assistant", "content": _structured(sql)},
                 "done": True, "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip


def test_restart_and_run_all_reuses_the_cached_sql_with_zero_provider_calls(
    ollama_server: Loopback, reader_url, monkeypatch, tmp_path
):
    ollama_server.always("chat", _answer)
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('%load_ext paysql_magic\n%config Ask.provider = "ollama"')]
    nb.cells += [nbformat.v4.new_code_cell(f"%%ask\n{q}") for q in QUESTIONS]
    path = tmp_path / "llm_rerun.ipynb"
    nbformat.write(nb, path)

    first = run_notebook(path, tmp_path)
    calls_after_first = len([r for r in ollama_server.requests if r.path == "/api/chat"])
    second = run_notebook(path, tmp_path)
    calls_after_second = len([r for r in ollama_server.requests if r.path == "/api/chat"])

    assert calls_after_first == len(QUESTIONS)
    assert calls_after_second == calls_after_first  # the rerun made no provider call
    for a, b in zip(first.cells[1:], second.cells[1:], strict=True):
        out_a, out_b = _stdout(a), _stdout(b)
        assert "provider: ollama" in out_a and ", cached" in out_b
        assert _sql(out_a) == _sql(out_b)


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def _sql(out: str) -> str:
    return "\n".join(line for line in out.splitlines() if not line.startswith("-- "))
