"""nginx (Debian's ``nginx``, unprivileged) on a free loopback port in front of ``paysql serve`` instances, for the
tests of several instances: the config, pid, logs and temp paths live in a temporary directory."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from serving import free_port

ACCESS_LOG = "access.log"  # one line a request: status, the upstream(s) tried, their statuses

CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    log_format upstreams '$request_method $uri $status $upstream_addr $upstream_status $request_time';
{snippet}
}}
"""

# What the README shows, with the upstreams and the port filled in.
SNIPPET = """\
    upstream paysql {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        access_log {dir}/access.log upstreams;
        location / {{
            proxy_pass http://paysql;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_read_timeout 60s;
        }}
    }}
"""


def nginx_conf(directory: Path, port: int, upstreams: list[str]) -> str:
    servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=10s;" for address in upstreams)
    snippet = SNIPPET.format(servers=servers, port=port, dir=directory)
    return CONF.format(dir=directory, snippet=snippet)


@contextmanager
def nginx(directory: Path, upstreams: list[str]) -> Iterator[str]:
    """nginx proxying to ``upstreams`` (``host:port``); yields its base URL once it answers."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(nginx_conf(directory, port, upstreams))
    process = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/health", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (directory / "error.log").read_text(errors="replace")
                    pytest.fail(f"nginx did not start:\n{log}")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def access_lines(directory: Path) -> list[list[str]]:
    """The access log's lines, split: ``[method, path, status, upstream_addr..., upstream_status..., seconds]``."""
    path = directory / ACCESS_LOG
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []
