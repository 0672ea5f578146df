"""A PostgreSQL wire-protocol proxy that counts round trips, for the round-trip test and benchmark.

It listens on a unix socket of its own and forwards every byte to the server's socket, reading the messages as they
pass. A round trip is one ``ReadyForQuery`` the server sends (after a simple ``Query``, or after the ``Sync`` that
ends a batch of extended-protocol messages), so BEGIN, COMMIT, SET, a pool's pre-ping, a prepare or a describe each
count like any query; a connection's start-up is counted apart. Each round trip is logged, before the client sees
its answer, with the client connection it was sent on and the statement texts of its ``Query`` and ``Parse``
messages.

The proxy runs in a process of its own (``counting`` starts it): some libpq calls keep the GIL while they wait for
the server (psycopg's ``describe_prepared``), so a proxy thread in the same process would wait forever.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

_SSL_REQUEST, _GSS_REQUEST, _CANCEL = 80877103, 80877104, 80877102


@dataclass(frozen=True)
class RoundTrip:
    connection: int  # the proxy's number of the client connection it was sent on
    statements: tuple[str, ...]  # the texts of Query and Parse messages ("" for a Sync alone: a describe)


class Counter:
    """What the proxy logged: round trips in order, and connections opened."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def _lines(self) -> list[dict]:
        text = self.log.read_text(encoding="utf-8") if self.log.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    @property
    def trips(self) -> list[RoundTrip]:
        return [RoundTrip(e["c"], tuple(e["s"])) for e in self._lines() if "s" in e]

    @property
    def connections(self) -> int:
        return sum(1 for e in self._lines() if "open" in e)

    def mark(self) -> int:
        return len(self.trips)

    def since(self, mark: int) -> list[RoundTrip]:
        return self.trips[mark:]


# --- the proxy (its own process) ----------------------------------------------------------------------------------


def _read(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class _Log:
    def __init__(self, path: str) -> None:
        self.out = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open for the proxy's lifetime)
        self.lock = threading.Lock()
        self.opened = 0

    def open(self) -> int:
        with self.lock:
            self.opened += 1
            self._write({"open": self.opened})
            return self.opened

    def trip(self, connection: int, statements: tuple[str, ...]) -> None:
        with self.lock:
            self._write({"c": connection, "s": list(statements)})

    def _write(self, entry: dict) -> None:
        self.out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.out.flush()


class _Session:
    """One client connection: the statements sent since the last batch ended, and the batches sent (a Query or a Sync
    ends one) and not answered yet, matched in order to the server's ReadyForQuery messages."""

    def __init__(self, log: _Log, client: socket.socket, server: socket.socket) -> None:
        self.log = log
        self.client, self.server = client, server
        self.number = 0
        self.lock = threading.Lock()
        self.sent: list[str] = []
        self.batches: list[tuple[str, ...]] = []
        self.started = False  # the start-up's own ReadyForQuery was seen

    def client_to_server(self) -> None:
        while True:  # untyped messages first: SSL / GSS negotiation, then the start-up or a cancel request
            head = _read(self.client, 8)
            length, code = struct.unpack("!ii", head)
            self.server.sendall(head + _read(self.client, length - 8))
            if code not in (_SSL_REQUEST, _GSS_REQUEST):
                break
            self.client.sendall(_read(self.server, 1))  # 'N' over a unix socket: no encryption
        if code == _CANCEL:  # the server closes the connection once it has read the request: so does the client
            while self.server.recv(4096):
                pass
            return
        self.number = self.log.open()
        threading.Thread(target=self.server_to_client, daemon=True).start()
        while True:
            kind = _read(self.client, 1)
            raw_length = _read(self.client, 4)
            body = _read(self.client, struct.unpack("!i", raw_length)[0] - 4)
            with self.lock:
                if kind == b"Q":
                    self.batches.append((*self.sent, body[:-1].decode("utf-8", "replace")))
                    self.sent = []
                elif kind == b"P":
                    start = body.index(b"\0") + 1
                    self.sent.append(body[start : body.index(b"\0", start)].decode("utf-8", "replace"))
                elif kind == b"S":
                    self.batches.append(tuple(self.sent) or ("",))
                    self.sent = []
            self.server.sendall(kind + raw_length + body)
            if kind == b"X":
                return

    def server_to_client(self) -> None:
        try:
            while True:
                kind = _read(self.server, 1)
                raw_length = _read(self.server, 4)
                body = _read(self.server, struct.unpack("!i", raw_length)[0] - 4)
                if kind == b"Z" and not self.started:
                    self.started = True
                elif kind == b"Z":
                    with self.lock:
                        batch = self.batches.pop(0) if self.batches else ("?",)
                    self.log.trip(self.number, batch)  # logged before the client sees the answer
                self.client.sendall(kind + raw_length + body)
        except (EOFError, OSError):
            pass
        finally:
            for sock in (self.client, self.server):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def serve(listen: str, target: str, log_path: str) -> None:
    """Accept on ``listen`` and forward each connection to ``target`` (unix socket paths), logging to ``log_path``."""
    log = _Log(log_path)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(listen)
    listener.listen(64)
    while True:
        client, _ = listener.accept()
        server = socket.socket(socket.AF_UNIX)
        server.connect(target)
        session = _Session(log, client, server)

        def run(session: _Session = session) -> None:
            try:
                session.client_to_server()
            except (EOFError, OSError):
                pass
            finally:
                session.client.close()
                session.server.close()

        threading.Thread(target=run, daemon=True).start()


@contextmanager
def counting(url: str) -> Iterator[tuple[str, Counter]]:
    """The URL of a counting proxy in front of the unix-socket database ``url`` (``...?host=/socket/dir``), and its
    counter."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    port = parts.port or int(query.get("port", ["5432"])[0])
    target = Path(query["host"][0]) / f".s.PGSQL.{port}"
    with tempfile.TemporaryDirectory(prefix="pgwire-") as directory:
        listen, log = Path(directory) / f".s.PGSQL.{port}", Path(directory) / "trips.jsonl"
        process = subprocess.Popen([sys.executable, __file__, str(listen), str(target), str(log)])
        try:
            deadline = time.monotonic() + 10
            while not listen.exists():
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the counting proxy did not start")
                time.sleep(0.02)
            query["host"] = [directory]
            proxied = urlunsplit(parts._replace(query=urlencode(query, doseq=True, quote_via=quote, safe="/")))
            yield proxied, Counter(log)
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    serve(*sys.argv[1:4])
