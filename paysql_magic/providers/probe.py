"""Whether an Ollama server answers, without importing the ``ollama`` client (0.3 s of imports) to find out."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit


def ollama_answers(host: str, timeout_s: float = 0.5) -> bool:
    """Whether an Ollama server answers ``GET /api/tags`` at ``host`` within ``timeout_s`` (a 200 with JSON).

    A plain TCP connect comes first: when nothing listens (the usual case) that answers in microseconds.
    """
    address = urlsplit(host if "://" in host else f"http://{host}")
    hostname, port = address.hostname or "127.0.0.1", address.port or 11434
    try:
        socket.create_connection((hostname, port), timeout_s).close()
    except OSError:
        return False
    connection_class = http.client.HTTPSConnection if address.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(hostname, port, timeout=timeout_s)
    try:
        connection.request("GET", f"{address.path.rstrip('/')}/api/tags", headers={"Accept": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            return False
        json.loads(response.read() or b"null")
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        connection.close()
    return True
