"""Gemini through ``google-genai``: structured JSON replies, bounded retries, one-line errors.

google-genai makes ONE attempt unless ``HttpOptions.retry_options`` is set; with it, tenacity retries
408/429/5xx and httpx timeouts/connection errors with exponential backoff and re-raises the last error.
``HttpOptions.timeout`` is in milliseconds and applies to each attempt. The key goes in the
``x-goog-api-key`` header, never in the URL, and no message written here repeats it.
"""

from __future__ import annotations

import json

import httpx
from google import genai
from google.genai import errors, types

from paysql_magic.errors import ConfigError, ProviderError
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.structured import REPLY_INSTRUCTIONS, REPLY_SCHEMA, one_line, read_reply
from paysql_magic.settings import GEMINI_KEY_ENVS, env_gemini_base_url, env_gemini_key, env_gemini_model

try:  # google-genai 3.x talks through httpx2, a fork whose exceptions are not httpx's
    import httpx2
except ImportError:  # pragma: no cover - older google-genai uses httpx only
    httpx2 = None

DEFAULT_MODEL = "gemini-3.5-flash"
API_VERSION = "v1beta"
RETRIED_STATUSES = (408, 429, 500, 502, 503, 504)
_HTTP_MODULES = tuple(module for module in (httpx, httpx2) if module is not None)
_TIMEOUTS = tuple(module.TimeoutException for module in _HTTP_MODULES)
_TRANSPORT_ERRORS = tuple(module.TransportError for module in _HTTP_MODULES)
_KEY_ENVS = " or ".join(GEMINI_KEY_ENVS)


class GeminiProvider:
    """Asks a Gemini model for a JSON reply holding the SQL; see ``structured`` for its shape."""

    name = "gemini"
    remote = True

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        attempts: int = 3,
        initial_delay_s: float = 1.0,
        max_delay_s: float = 10.0,
    ) -> None:
        key = api_key or env_gemini_key()
        if not key:
            raise ConfigError(f"no Gemini API key: set {_KEY_ENVS}, or choose the ollama or offline provider")
        self.model = model or env_gemini_model() or DEFAULT_MODEL
        self.base_url = base_url or env_gemini_base_url() or "https://generativelanguage.googleapis.com"
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._key = key
        retry = types.HttpRetryOptions(
            attempts=attempts,
            initial_delay=initial_delay_s,
            max_delay=max_delay_s,
            jitter=initial_delay_s,
            http_status_codes=list(RETRIED_STATUSES),
        )
        self._client = genai.Client(
            api_key=key,
            vertexai=False,  # GOOGLE_GENAI_USE_VERTEXAI in the environment must not reroute the call
            http_options=types.HttpOptions(
                base_url=self.base_url,
                api_version=API_VERSION,
                timeout=round(timeout_s * 1000),
                retry_options=retry,
            ),
        )

    def __repr__(self) -> str:
        return f"GeminiProvider(model={self.model!r}, base_url={self.base_url!r})"

    def generate(self, prompt: Prompt) -> str:
        """The SQL Gemini writes for ``prompt``; raises ``ProviderError`` (one line, with the fix) on failure."""
        config = types.GenerateContentConfig(
            system_instruction=REPLY_INSTRUCTIONS,
            temperature=0,
            response_mime_type="application/json",
            response_json_schema=REPLY_SCHEMA,
        )
        return read_reply(self._generate_text(prompt.text, config))

    def fill(self, system: str, text: str, schema: dict) -> str:
        """Gemini's JSON reply to ``text`` under ``schema`` (plan mode); raises ``ProviderError`` on failure."""
        config = types.GenerateContentConfig(
            system_instruction=system,
            temperature=0,
            response_mime_type="application/json",
            response_json_schema=schema,
        )
        return self._generate_text(text, config)

    def explain(self, prompt_text: str) -> str:
        """Gemini's plain-text reply to ``prompt_text`` (no JSON schema); raises ``ProviderError`` on failure."""
        return self._generate_text(prompt_text, types.GenerateContentConfig(temperature=0))

    def _generate_text(self, contents: str, config: types.GenerateContentConfig) -> str:
        """The non-empty text Gemini replies to ``contents``; every failure is a one-line ``ProviderError``."""
        try:
            response = self._client.models.generate_content(model=self.model, contents=contents, config=config)
        except errors.APIError as exc:
            raise ProviderError(self._api_error(exc)) from exc
        except _TIMEOUTS as exc:
            raise ProviderError(
                f"Gemini did not answer: timed out after {self.timeout_s:g} s ({self._tries}); try again later"
            ) from exc
        except _TRANSPORT_ERRORS as exc:
            raise ProviderError(
                f"cannot reach Gemini at {self.base_url} ({type(exc).__name__}): check the network or GEMINI_BASE_URL"
            ) from exc
        text = response.text
        if not text or not text.strip():
            raise ProviderError(f"Gemini returned no text ({_why_empty(response)}): rephrase the question or retry")
        return text

    @property
    def _tries(self) -> str:
        return "1 attempt" if self.attempts <= 1 else f"{self.attempts} attempts"

    def _api_error(self, exc: errors.APIError) -> str:
        code = exc.code
        if code in (401, 403) or (code == 400 and _about_api_key(exc)):
            return f"Gemini rejected the API key ({code}): check {_KEY_ENVS} (new keys: https://aistudio.google.com/apikey)"
        if code == 404:
            return f"Gemini has no model {self.model!r} (404): choose another model, e.g. {DEFAULT_MODEL}"
        if code == 429:
            return (
                f"Gemini quota exceeded (429) after {self._tries}: wait a minute, or check the plan and quota of "
                "the key at https://aistudio.google.com"
            )
        if code >= 500:
            return (
                f"Gemini server error {code} after {self._tries}: try again later, or use the ollama/offline provider"
            )
        return f"Gemini refused the request ({code}): {one_line(self._scrub(str(exc.message or exc.status or '')))}"

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")


def _about_api_key(exc: errors.APIError) -> bool:
    """Google answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID."""
    return "api key" in str(exc.message or "").lower() or "API_KEY" in json.dumps(exc.details, default=str)


def _why_empty(response: types.GenerateContentResponse) -> str:
    if response.prompt_feedback and response.prompt_feedback.block_reason:
        return f"prompt blocked: {_enum_name(response.prompt_feedback.block_reason)}"
    if response.candidates and response.candidates[0].finish_reason:
        return f"finish reason {_enum_name(response.candidates[0].finish_reason)}"
    return "no candidates"


def _enum_name(value: object) -> str:
    return str(getattr(value, "value", value))
