"""Providers turn a prompt into SQL. ``get_provider`` picks one by name."""

from __future__ import annotations

from paysql_magic.errors import ConfigError
from paysql_magic.providers.base import Prompt, Provider

PROVIDER_NAMES = ("auto", "offline")


def get_provider(name: str, model: str | None = None) -> Provider:
    """The provider called ``name``; ``auto`` is the offline provider until Gemini and Ollama land."""
    if name in ("auto", "offline"):
        from paysql_magic.providers.offline import OfflineProvider

        return OfflineProvider()
    raise ConfigError(f"unknown provider {name!r}: choose one of {', '.join(PROVIDER_NAMES)}")


__all__ = ["PROVIDER_NAMES", "Prompt", "Provider", "get_provider"]
