"""``paysql serve`` as a subprocess on a free loopback port, for the tests that need a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health(url: str) -> int | None:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@contextmanager
def paysql_serve(
    *args: str,
    log: Path,
    ready: tuple[int, ...] = (200,),
    startup_s: float = 90,
    started: list[subprocess.Popen] | None = None,
) -> Iterator[str]:
    """Run ``paysql serve ARGS --port <free>``; yield its base URL once ``/api/health`` answers with a ``ready``
    status, and stop it afterwards (SIGTERM). The server's output goes to ``log``, shown when it fails to start;
    its process is appended to ``started`` (a test may stop it itself)."""
    port = free_port()
    command = [sys.executable, "-m", "paysql_magic.cli", "serve", *args, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    if started is not None:
        started.append(process)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _health(url) in ready, process, "paysql serve", log, startup_s)
        yield url
    finally:
        _stop(process, 20)


@contextmanager
def paysql_worker(*args: str, redis_url: str, log: Path, startup_s: float = 60) -> Iterator[subprocess.Popen]:
    """Run ``paysql worker ARGS``; yield its process once it listens on the jobs' queue in ``redis_url`` (it
    registers there), and stop it afterwards (SIGTERM, which lets a running job finish)."""
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(redis_url)
    before = {w.name for w in Worker.all(connection=connection)}
    command = [sys.executable, "-m", "paysql_magic.cli", "worker", *args]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def registered() -> bool:
        return bool({w.name for w in Worker.all(connection=connection)} - before)

    try:
        _wait_until(registered, process, "paysql worker", log, startup_s)
        yield process
    finally:
        _stop(process, 30)
        connection.close()


def _wait_until(ready, process: subprocess.Popen, name: str, log: Path, startup_s: float) -> None:
    """Until ``ready()``; fails the test with the process's output when it exits or takes over ``startup_s``."""
    deadline = time.monotonic() + startup_s
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not start in {startup_s} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM (a graceful stop), then SIGKILL after ``timeout_s``; nothing when it has exited already."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
