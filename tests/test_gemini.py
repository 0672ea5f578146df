"""The Gemini provider through the real google-genai client against a loopback server."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

import pytest

from paysql_magic.errors import ConfigError, Declined, ProviderError
from paysql_magic.guard import extract_sql
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.gemini import GeminiProvider
from paysql_magic.providers.structured import REPLY_SCHEMA
from paysql_magic.schema import Column, Schema, Table

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]

FAKE_KEY = "AIzaFAKE-loopback-key-0123456789"
SCHEMA = Schema((Table("transactions", (Column("amount_kzt", "numeric", False),)),), "Asia/Almaty")
PROMPT = Prompt(
    "Объем за вчера", SCHEMA, f"GLOSSARY: volume = SUM(amount_kzt)\n\n{SCHEMA.to_ddl()}\n\nQuestion: Объем за вчера"
)


def structured(sql: str = "", needs_clarification: str | None = None) -> str:
    reply = {"sql": sql, "tables": ["transactions"], "assumptions": [], "needs_clarification": needs_clarification}
    return json.dumps(reply)


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL", "PAYSQL_GEMINI_MODEL"):
        monkeypatch.delenv(name, raising=False)


def provider(server: Loopback, **options: float) -> GeminiProvider:
    settings = {"timeout_s": 2.0, "attempts": 3, "initial_delay_s": 0.05, "max_delay_s": 0.1} | options
    return GeminiProvider(api_key=FAKE_KEY, base_url=server.url, **settings)


def error_text(exc: BaseException) -> str:
    """Every message in the exception chain."""
    texts = []
    while exc is not None:
        texts.append(f"{exc!r} {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(texts)


def test_request_carries_prompt_schema_and_reply_schema(gemini_server: Loopback) -> None:
    gemini_server.reply("gemini", gemini_server.gemini_text(structured("SELECT sum(amount_kzt) FROM transactions")))

    assert provider(gemini_server).generate(PROMPT) == "SELECT sum(amount_kzt) FROM transactions"

    [request] = gemini_server.requests
    assert request.path == "/v1beta/models/gemini-3.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == FAKE_KEY
    sent = request.body["contents"][0]["parts"][0]["text"]
    assert sent == PROMPT.text
    assert "CREATE TABLE transactions" in sent and "GLOSSARY" in sent and "Объем за вчера" in sent
    config = request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == REPLY_SCHEMA
    assert config["temperature"] == 0


def test_model_and_base_url_from_the_environment(gemini_server: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", gemini_server.url)
    monkeypatch.setenv("PAYSQL_GEMINI_MODEL", "gemini-test")
    gemini_server.reply("gemini", gemini_server.gemini_text(structured("SELECT 1")))

    assert GeminiProvider().generate(PROMPT) == "SELECT 1"
    assert gemini_server.requests[0].path == "/v1beta/models/gemini-test:generateContent"


def test_fenced_reply_is_passed_on_for_extraction(gemini_server: Loopback) -> None:
    gemini_server.reply("gemini", gemini_server.gemini_text("Here it is:\n```sql\nSELECT 1\n```"))

    assert extract_sql(provider(gemini_server).generate(PROMPT)) == "SELECT 1"


def test_clarification_request_is_declined(gemini_server: Loopback) -> None:
    gemini_server.reply("gemini", gemini_server.gemini_text(structured(needs_clarification="Which\nperiod?")))

    with pytest.raises(Declined, match=r"^I need more detail: Which period\?$"):
        provider(gemini_server).generate(PROMPT)


def test_json_without_sql_is_declined(gemini_server: Loopback) -> None:
    gemini_server.reply("gemini", gemini_server.gemini_text(structured("")))

    with pytest.raises(Declined, match="I need more detail"):
        provider(gemini_server).generate(PROMPT)


def test_429_then_200_is_retried(gemini_server: Loopback) -> None:
    gemini_server.reply(
        "gemini",
        gemini_server.gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded"),
        gemini_server.gemini_text(structured("SELECT 1")),
    )

    assert provider(gemini_server).generate(PROMPT) == "SELECT 1"
    assert len(gemini_server.requests) == 2


def test_quota_exhausted_after_bounded_retries(gemini_server: Loopback) -> None:
    gemini_server.always("gemini", gemini_server.gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded"))

    with pytest.raises(ProviderError, match=r"quota exceeded \(429\) after 3 attempts") as caught:
        provider(gemini_server).generate(PROMPT)
    assert len(gemini_server.requests) == 3
    assert "\n" not in str(caught.value)


def test_server_error_forever_ends_in_one_line(gemini_server: Loopback) -> None:
    gemini_server.always("gemini", gemini_server.gemini_error(503, "UNAVAILABLE", "The model is overloaded."))
    started = time.monotonic()

    with pytest.raises(ProviderError, match=r"server error 503 after 3 attempts: try again later") as caught:
        provider(gemini_server).generate(PROMPT)
    assert time.monotonic() - started < 5
    assert "\n" not in str(caught.value)


def test_server_that_never_answers_times_out(gemini_server: Loopback) -> None:
    gemini_server.always("gemini", gemini_server.HANG)
    started = time.monotonic()

    with pytest.raises(ProviderError, match=r"timed out after 0.5 s \(2 attempts\)"):
        provider(gemini_server, timeout_s=0.5, attempts=2).generate(PROMPT)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ((400, "INVALID_ARGUMENT", "API key not valid.", "API_KEY_INVALID"), r"rejected the API key \(400\)"),
        ((403, "PERMISSION_DENIED", "Permission denied"), r"rejected the API key \(403\)"),
        ((404, "NOT_FOUND", "models/x is not found"), r"no model 'gemini-3.5-flash' \(404\)"),
        ((400, "INVALID_ARGUMENT", "bad\nschema"), r"refused the request \(400\): bad schema$"),
    ],
)
def test_client_errors_name_the_fix(gemini_server: Loopback, error: tuple, expected: str) -> None:
    gemini_server.reply("gemini", gemini_server.gemini_error(*error))

    with pytest.raises(ProviderError, match=expected) as caught:
        provider(gemini_server).generate(PROMPT)
    assert len(gemini_server.requests) == 1  # client errors are not retried
    assert "\n" not in str(caught.value)


def test_reply_without_text_is_a_clear_error(gemini_server: Loopback) -> None:
    gemini_server.reply("gemini", (200, {"candidates": [{"finishReason": "SAFETY", "index": 0}]}))

    with pytest.raises(ProviderError, match=r"Gemini returned no text \(finish reason SAFETY\)"):
        provider(gemini_server).generate(PROMPT)


def test_unreachable_server(closed_url: str) -> None:
    gemini = GeminiProvider(api_key=FAKE_KEY, base_url=closed_url, attempts=1, timeout_s=1)

    with pytest.raises(ProviderError, match=f"cannot reach Gemini at {closed_url}"):
        gemini.generate(PROMPT)


def test_missing_key_fails_before_any_request(gemini_server: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", gemini_server.url)
    monkeypatch.setenv("GEMINI_API_KEY", "  ")

    with pytest.raises(ConfigError, match=r"^no Gemini API key: set GEMINI_API_KEY or GOOGLE_API_KEY"):
        GeminiProvider()
    assert gemini_server.requests == []


def test_key_never_appears_in_messages_or_logs(
    gemini_server: Loopback, caplog: pytest.LogCaptureFixture, closed_url: str
) -> None:
    caplog.set_level(logging.DEBUG)
    gemini_server.reply(
        "gemini", gemini_server.gemini_error(400, "INVALID_ARGUMENT", "API key not valid.", "API_KEY_INVALID")
    )
    gemini_server.always("gemini", gemini_server.gemini_error(503, "UNAVAILABLE", "overloaded"))
    gemini = provider(gemini_server)
    failures = []
    for _ in range(2):
        with pytest.raises(ProviderError) as caught:
            gemini.generate(PROMPT)
        failures.append(caught.value)
    with pytest.raises(ProviderError) as caught:
        GeminiProvider(api_key=FAKE_KEY, base_url=closed_url, attempts=1).generate(PROMPT)
    failures.append(caught.value)

    assert FAKE_KEY not in "\n".join(error_text(exc) for exc in failures)
    assert FAKE_KEY not in caplog.text
    assert FAKE_KEY not in repr(gemini)


def test_a_key_echoed_by_the_server_is_masked(gemini_server: Loopback) -> None:
    gemini_server.reply("gemini", gemini_server.gemini_error(400, "INVALID_ARGUMENT", f"bad request from {FAKE_KEY}"))

    with pytest.raises(ProviderError, match=r"refused the request \(400\): bad request from \*\*\*$"):
        provider(gemini_server).generate(PROMPT)
