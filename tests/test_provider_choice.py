"""Choosing a provider by name, and what ``auto`` picks and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from paysql_magic.errors import ConfigError
from paysql_magic.providers import OFFLINE_MODEL, PROVIDER_NAMES, LazyOffline, choose_provider, get_provider
from paysql_magic.providers.gemini import DEFAULT_MODEL as GEMINI_DEFAULT
from paysql_magic.providers.offline import OfflineProvider

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]

FAKE_KEY = "AIzaFAKE-choice-key-9876543210"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, closed_url: str) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL", "PAYSQL_GEMINI_MODEL", "PAYSQL_OLLAMA_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", closed_url)  # never probe a real Ollama on this machine


def test_offline_by_name_is_the_offline_parser() -> None:
    provider = get_provider("offline")

    assert isinstance(provider, LazyOffline) and isinstance(provider.provider, OfflineProvider)
    assert (provider.name, provider.model) == ("offline", "offline-parser-1") == (OfflineProvider.name, OFFLINE_MODEL)
    assert OfflineProvider.model == OFFLINE_MODEL


def test_names() -> None:
    assert PROVIDER_NAMES == ("auto", "gemini", "ollama", "offline")
    with pytest.raises(ConfigError, match="unknown provider 'gpt': choose one of auto, gemini, ollama, offline"):
        get_provider("gpt")


def test_gemini_by_name_needs_a_key() -> None:
    with pytest.raises(ConfigError, match="no Gemini API key"):
        get_provider("gemini")


def test_model_is_passed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)

    provider, reason = choose_provider("gemini", "gemini-test")

    assert (provider.name, provider.model, reason) == ("gemini", "gemini-test", "gemini (chosen by name)")
    assert get_provider("ollama", "sqlcoder").model == "sqlcoder"


def test_auto_prefers_gemini_when_a_key_is_set(monkeypatch: pytest.MonkeyPatch, ollama_server: Loopback) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)

    provider, reason = choose_provider("auto")

    assert (provider.name, provider.model) == ("gemini", GEMINI_DEFAULT)
    assert reason == "auto -> gemini (a Gemini API key is set)"
    assert FAKE_KEY not in reason
    assert ollama_server.requests == []  # no probe needed


def test_auto_takes_ollama_when_it_answers(monkeypatch: pytest.MonkeyPatch, ollama_server: Loopback) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)

    provider, reason = choose_provider("auto")

    assert (provider.name, provider.model) == ("ollama", "qwen2.5-coder:7b")
    assert reason == f"auto -> ollama (no GEMINI_API_KEY or GOOGLE_API_KEY; Ollama answers at {ollama_server.url})"
    assert [(r.method, r.path) for r in ollama_server.requests] == [("GET", "/api/tags")]


def test_auto_falls_back_to_offline(closed_url: str) -> None:
    provider, reason = choose_provider("auto")

    assert isinstance(provider, LazyOffline)
    assert reason == f"auto -> offline (no GEMINI_API_KEY or GOOGLE_API_KEY, no Ollama at {closed_url})"


def test_auto_skips_an_ollama_that_hangs(monkeypatch: pytest.MonkeyPatch, ollama_server: Loopback) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    ollama_server.always("tags", ollama_server.HANG)

    provider, reason = choose_provider("auto")

    assert provider.name == "offline"
    assert reason.startswith("auto -> offline")
