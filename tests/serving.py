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
        deadline = time.monotonic() + startup_s
        while _health(url) not in ready:
            if process.poll() is not None:
                pytest.fail(f"paysql serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"paysql serve did not answer in {startup_s} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    try:
        deadline = time.monotonic() + startup_s
        while not {w.name for w in Worker.all(connection=connection)} - before:
            if process.poll() is not None:
                pytest.fail(f"paysql worker exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"paysql worker did not start in {startup_s} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        connection.close()
