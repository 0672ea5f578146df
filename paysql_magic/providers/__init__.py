"""Providers turn a prompt into SQL. ``get_provider`` picks one by name; ``choose_provider`` also says why.

``auto`` takes Gemini when an API key is set, else Ollama when its server answers within half a second,
else the offline parser. Provider modules are imported only when chosen, so a missing LLM library or an
unreachable server never breaks the offline path.
"""

from __future__ import annotations

from paysql_magic.errors import ConfigError
from paysql_magic.providers.base import Prompt, Provider
from paysql_magic.settings import GEMINI_KEY_ENVS, env_gemini_key, env_ollama_host

PROVIDER_NAMES = ("auto", "gemini", "ollama", "offline")
CLOUD_PROVIDERS = ("gemini",)  # they send the prompt off this machine (Ollama runs locally)
OFFLINE_MODEL = "offline-parser-1"  # OfflineProvider.model, known without importing the parser


def choose_provider(name: str, model: str | None = None) -> tuple[Provider, str]:
    """The provider called ``name`` and a line saying which one it is and why, for the notebook to show."""
    if name == "auto":
        return _choose_auto(model)
    if name in PROVIDER_NAMES:
        return _make(name, model), f"{name} (chosen by name)"
    raise ConfigError(f"unknown provider {name!r}: choose one of {', '.join(PROVIDER_NAMES)}")


def cloud_bound(name: str) -> str | None:
    """The cloud provider ``name`` resolves to (``auto`` -> gemini when a key is set), or None; never calls out."""
    resolved = ("gemini" if env_gemini_key() else None) if name == "auto" else name
    return resolved if resolved in CLOUD_PROVIDERS else None


def get_provider(name: str, model: str | None = None) -> Provider:
    """The provider called ``name``: ``auto``, ``gemini``, ``ollama`` or ``offline``."""
    return choose_provider(name, model)[0]


def _choose_auto(model: str | None) -> tuple[Provider, str]:
    if env_gemini_key():
        return _make("gemini", model), "auto -> gemini (a Gemini API key is set)"
    from paysql_magic.providers.probe import ollama_answers  # not the ollama client: 0.3 s of imports

    host = env_ollama_host()
    no_key = f"no {' or '.join(GEMINI_KEY_ENVS)}"
    if ollama_answers(host):
        return _make("ollama", model), f"auto -> ollama ({no_key}; Ollama answers at {host})"
    return _make("offline", model), f"auto -> offline ({no_key}, no Ollama at {host})"


def _make(name: str, model: str | None) -> Provider:
    if name == "gemini":
        from paysql_magic.providers.gemini import GeminiProvider

        return GeminiProvider(model)
    if name == "ollama":
        from paysql_magic.providers.ollama import OllamaProvider

        return OllamaProvider(model)
    return LazyOffline()


class LazyOffline:
    """The offline provider, its parser imported on the first ``generate``: a cached answer needs only its name and
    model (the cache key), and the parser's imports (pymorphy3, the spelling dictionary) cost 0.6 s."""

    name = "offline"
    model = OFFLINE_MODEL
    remote = False

    def __init__(self) -> None:
        self._provider = None

    @property
    def provider(self):
        """The real ``OfflineProvider`` (imported and made on first use)."""
        if self._provider is None:
            from paysql_magic.providers.offline import OfflineProvider

            self._provider = OfflineProvider()
        return self._provider

    def generate(self, prompt: Prompt) -> str:
        return self.provider.generate(prompt)

    def __getattr__(self, name: str):
        return getattr(self.provider, name)


__all__ = [
    "CLOUD_PROVIDERS",
    "OFFLINE_MODEL",
    "PROVIDER_NAMES",
    "LazyOffline",
    "Prompt",
    "Provider",
    "choose_provider",
    "cloud_bound",
    "get_provider",
]
