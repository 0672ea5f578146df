"""Pytest plugin: loopback Gemini and Ollama servers (``paysql_magic.loopback``) as fixtures.

Use it with ``pytest_plugins = ["loopback"]`` for the ``gemini_server``, ``ollama_server`` and ``closed_url``
fixtures; import ``Loopback`` from ``paysql_magic.loopback`` for type hints.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from paysql_magic.loopback import Loopback, Recorded

__all__ = ["Loopback", "Recorded"]


def _serve() -> Iterator[Loopback]:
    server = Loopback()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def gemini_server() -> Iterator[Loopback]:
    """A loopback server for the Gemini client (point ``GEMINI_BASE_URL`` or ``base_url`` at ``.url``)."""
    yield from _serve()


@pytest.fixture
def ollama_server() -> Iterator[Loopback]:
    """A loopback server for the Ollama client (point ``OLLAMA_HOST`` or ``host`` at ``.url``)."""
    yield from _serve()


@pytest.fixture
def closed_url() -> str:
    """A 127.0.0.1 URL where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
