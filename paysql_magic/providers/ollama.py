"""A local model through the ``ollama`` client: ``/api/chat`` with a JSON-schema ``format``, one-line errors.

The client raises ``ollama.ResponseError`` (with ``status_code``) for an HTTP error, the builtin
``ConnectionError`` when nothing listens at the host, and lets httpx timeouts through unchanged.
"""

from __future__ import annotations

from typing import Any

import httpx
import ollama

from paysql_magic.errors import ProviderError
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.probe import ollama_answers
from paysql_magic.providers.structured import REPLY_INSTRUCTIONS, REPLY_SCHEMA, one_line, read_reply
from paysql_magic.settings import env_ollama_host, env_ollama_model

DEFAULT_MODEL = "qwen2.5-coder:7b"
__all__ = ["DEFAULT_MODEL", "OllamaProvider", "ollama_answers"]


class OllamaProvider:
    """Asks a model served by Ollama for a JSON reply holding the SQL; see ``structured`` for its shape."""

    name = "ollama"
    remote = True

    def __init__(self, model: str | None = None, *, host: str | None = None, timeout_s: float = 120.0) -> None:
        self.model = model or env_ollama_model() or DEFAULT_MODEL
        self.host = host or env_ollama_host()
        self.timeout_s = timeout_s
        self._client = ollama.Client(host=self.host, timeout=timeout_s)

    def generate(self, prompt: Prompt) -> str:
        """The SQL the model writes for ``prompt``; raises ``ProviderError`` (one line, with the fix) on failure."""
        messages = [{"role": "system", "content": REPLY_INSTRUCTIONS}, {"role": "user", "content": prompt.text}]
        return read_reply(self._chat(messages, format=REPLY_SCHEMA))

    def fill(self, system: str, text: str, schema: dict[str, Any]) -> str:
        """The model's JSON reply to ``text`` under ``schema`` (plan mode); raises ``ProviderError`` on failure."""
        return self._chat([{"role": "system", "content": system}, {"role": "user", "content": text}], format=schema)

    def explain(self, prompt_text: str) -> str:
        """The model's plain-text reply to ``prompt_text`` (no JSON schema); raises ``ProviderError`` on failure."""
        return self._chat([{"role": "user", "content": prompt_text}])

    def _chat(self, messages: list[dict[str, str]], format: dict[str, Any] | None = None) -> str:
        """The non-empty text of the model's reply to ``messages``; every failure is a one-line ``ProviderError``."""
        try:
            response = self._client.chat(model=self.model, messages=messages, format=format, options={"temperature": 0})
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise ProviderError(f"model {self.model} is not pulled: run `ollama pull {self.model}`") from exc
            raise ProviderError(f"Ollama failed ({exc.status_code}): {one_line(str(exc.error))}") from exc
        except ConnectionError as exc:
            raise ProviderError(f"Ollama is not running at {self.host}: start it with `ollama serve`") from exc
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"Ollama at {self.host} timed out after {self.timeout_s:g} s: the model may still be loading; "
                "try again, or pick a smaller model"
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"lost the connection to Ollama at {self.host} ({type(exc).__name__}): retry") from exc
        text = response.message.content
        if not text or not text.strip():
            raise ProviderError(f"Ollama model {self.model} returned an empty reply: rephrase the question or retry")
        return text
