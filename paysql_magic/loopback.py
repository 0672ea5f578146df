"""Loopback HTTP servers speaking the wire protocols the real Gemini and Ollama clients call.

A ``Loopback`` listens on 127.0.0.1 (port 0) in a thread and answers three routes:

    gemini   POST /v1beta/models/{model}:generateContent   -> a GenerateContentResponse JSON
    chat     POST /api/chat  (non-streaming)                -> an Ollama ChatResponse JSON
    tags     GET  /api/tags                                 -> an Ollama ListResponse JSON

Replies are scripted per route: ``reply(route, *replies)`` queues them (a ``(status, body)`` pair, a callable
taking the ``Recorded`` request and returning such a pair, or ``Loopback.HANG`` to never answer);
``always(route, r)`` sets the reply once the queue is empty. Every request is recorded (method, path, headers,
JSON body). ``gemini_text``, ``gemini_error``, ``ollama_chat`` and ``ollama_tags`` build proper replies.

This is the test double the package ships (as httpx ships ``MockTransport``): the test suite uses it through
the pytest plugin ``tests/loopback.py``, and ``benchmarks/provider_overhead.py`` to time the provider path.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROUTES = {
    ("POST", re.compile(r"/v1beta/models/[^/:]+:generateContent")): "gemini",
    ("POST", re.compile(r"/api/chat")): "chat",
    ("GET", re.compile(r"/api/tags")): "tags",
}


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None


Reply = tuple[int, Any] | Callable[[Recorded], tuple[int, Any]] | str


class Loopback:
    """A scriptable HTTP server on 127.0.0.1; ``url`` is its base URL. Reply builders are static methods."""

    HANG = "hang"  # a reply that never comes (until the server closes)

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queues: dict[str, deque[Reply]] = {route: deque() for route in ROUTES.values()}
        self._defaults: dict[str, Reply] = {
            "gemini": (500, {"error": {"code": 500, "message": "loopback: no reply queued", "status": "INTERNAL"}}),
            "chat": (500, {"error": "loopback: no reply queued"}),
            "tags": self.ollama_tags("qwen2.5-coder:7b"),
        }
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="loopback"
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reply(self, route: str, *replies: Reply) -> None:
        """Queue ``replies`` for ``route``, answered in order."""
        self._queues[route].extend(replies)

    def always(self, route: str, reply: Reply) -> None:
        """Answer ``route`` with ``reply`` once its queue is empty."""
        self._defaults[route] = reply

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @staticmethod
    def gemini_text(text: str, finish_reason: str = "STOP") -> tuple[int, dict]:
        """A 200 GenerateContentResponse whose single candidate says ``text``."""
        return 200, {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish_reason, "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": "loopback",
        }

    @staticmethod
    def gemini_error(code: int, status: str, message: str, reason: str | None = None) -> tuple[int, dict]:
        """A Google API error body, as generativelanguage.googleapis.com sends it."""
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if reason:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}]
        return code, {"error": error}

    @staticmethod
    def ollama_chat(content: str, model: str = "qwen2.5-coder:7b") -> tuple[int, dict]:
        """A 200 non-streaming ``/api/chat`` reply."""
        return 200, {
            "model": model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1,
            "eval_count": 1,
        }

    @staticmethod
    def ollama_tags(*models: str) -> tuple[int, dict]:
        """A 200 ``/api/tags`` reply listing ``models``."""
        return 200, {"models": [{"name": m, "model": m, "size": 1, "digest": "0" * 64} for m in models]}

    def _next(self, route: str) -> Reply:
        with self._lock:
            queue = self._queues[route]
            return queue.popleft() if queue else self._defaults[route]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

            def _answer(self) -> None:
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                request = Recorded(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body)
                loopback.requests.append(request)
                route = next((r for (m, p), r in ROUTES.items() if m == self.command and p.fullmatch(path)), None)
                if route is None:
                    self._send(404, {"error": f"loopback: no route for {self.command} {path}"})
                    return
                reply = loopback._next(route)
                if reply == loopback.HANG:
                    loopback._closing.wait()
                    return
                status, payload = reply(request) if callable(reply) else reply
                self._send(status, payload)

            def _send(self, status: int, payload: Any) -> None:
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
