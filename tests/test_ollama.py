"""The Ollama provider through the real ollama client against a loopback server."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from paysql_magic.errors import Declined, ProviderError
from paysql_magic.guard import extract_sql
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.ollama import OllamaProvider, ollama_answers
from paysql_magic.providers.structured import REPLY_SCHEMA
from paysql_magic.schema import Column, Schema, Table

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]

SCHEMA = Schema((Table("transactions", (Column("amount_kzt", "numeric", False),)),), "Asia/Almaty")
PROMPT = Prompt("Volume yesterday", SCHEMA, f"GLOSSARY: volume = SUM(amount_kzt)\n\n{SCHEMA.to_ddl()}\n\nQuestion: ...")


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLLAMA_HOST", "PAYSQL_OLLAMA_MODEL", "OLLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def structured(sql: str = "", needs_clarification: str | None = None) -> str:
    reply = {"sql": sql, "tables": ["transactions"], "assumptions": [], "needs_clarification": needs_clarification}
    return json.dumps(reply)


def test_request_carries_prompt_and_reply_schema(ollama_server: Loopback) -> None:
    ollama_server.reply("chat", ollama_server.ollama_chat(structured("SELECT sum(amount_kzt) FROM transactions")))

    sql = OllamaProvider(host=ollama_server.url).generate(PROMPT)

    assert sql == "SELECT sum(amount_kzt) FROM transactions"
    [request] = ollama_server.requests
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert request.body["model"] == "qwen2.5-coder:7b"
    assert request.body["stream"] is False
    assert request.body["format"] == REPLY_SCHEMA
    assert request.body["options"] == {"temperature": 0}
    assert request.body["messages"][-1] == {"role": "user", "content": PROMPT.text}


def test_host_and_model_from_the_environment(ollama_server: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    monkeypatch.setenv("PAYSQL_OLLAMA_MODEL", "sqlcoder:15b")
    ollama_server.reply("chat", ollama_server.ollama_chat(structured("SELECT 1")))

    assert OllamaProvider().generate(PROMPT) == "SELECT 1"
    assert ollama_server.requests[0].body["model"] == "sqlcoder:15b"


def test_fenced_reply_is_passed_on_for_extraction(ollama_server: Loopback) -> None:
    ollama_server.reply("chat", ollama_server.ollama_chat("Sure:\n```sql\nSELECT 2\n```"))

    assert extract_sql(OllamaProvider(host=ollama_server.url).generate(PROMPT)) == "SELECT 2"


def test_json_in_a_fence_is_read(ollama_server: Loopback) -> None:
    ollama_server.reply("chat", ollama_server.ollama_chat(f"```json\n{structured('SELECT 3')}\n```"))

    assert OllamaProvider(host=ollama_server.url).generate(PROMPT) == "SELECT 3"


def test_clarification_request_is_declined(ollama_server: Loopback) -> None:
    ollama_server.reply("chat", ollama_server.ollama_chat(structured(needs_clarification="Which merchant?")))

    with pytest.raises(Declined, match=r"^I need more detail: Which merchant\?$"):
        OllamaProvider(host=ollama_server.url).generate(PROMPT)


def test_empty_reply_is_a_clear_error(ollama_server: Loopback) -> None:
    ollama_server.reply("chat", ollama_server.ollama_chat("  "))

    with pytest.raises(ProviderError, match="returned an empty reply"):
        OllamaProvider(host=ollama_server.url).generate(PROMPT)


def test_missing_model_says_how_to_pull_it(ollama_server: Loopback) -> None:
    ollama_server.reply("chat", (404, {"error": 'model "qwen2.5-coder:7b" not found, try pulling it first'}))

    with pytest.raises(
        ProviderError, match=r"^model qwen2.5-coder:7b is not pulled: run `ollama pull qwen2.5-coder:7b`$"
    ):
        OllamaProvider(host=ollama_server.url).generate(PROMPT)


def test_other_server_errors_are_one_line(ollama_server: Loopback) -> None:
    ollama_server.reply("chat", (500, {"error": "llama runner\nprocess has terminated"}))

    with pytest.raises(ProviderError, match=r"^Ollama failed \(500\): llama runner process has terminated$"):
        OllamaProvider(host=ollama_server.url).generate(PROMPT)


def test_server_down_says_how_to_start_it(closed_url: str) -> None:
    with pytest.raises(ProviderError, match=f"^Ollama is not running at {closed_url}: start it with `ollama serve`$"):
        OllamaProvider(host=closed_url).generate(PROMPT)


def test_server_that_never_answers_times_out(ollama_server: Loopback) -> None:
    ollama_server.always("chat", ollama_server.HANG)
    started = time.monotonic()

    with pytest.raises(ProviderError, match=r"timed out after 0.5 s"):
        OllamaProvider(host=ollama_server.url, timeout_s=0.5).generate(PROMPT)
    assert time.monotonic() - started < 5


def test_ollama_answers_probes_api_tags(ollama_server: Loopback, closed_url: str) -> None:
    assert ollama_answers(ollama_server.url)
    assert [(r.method, r.path) for r in ollama_server.requests] == [("GET", "/api/tags")]
    assert not ollama_answers(closed_url)
    ollama_server.always("tags", ollama_server.HANG)
    started = time.monotonic()
    assert not ollama_answers(ollama_server.url, timeout_s=0.2)
    assert time.monotonic() - started < 2
