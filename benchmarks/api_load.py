"""Throughput and latency of the HTTP API: ``paysql serve --demo --workers N`` under concurrent requests.

    .venv/bin/python benchmarks/api_load.py [--requests 200] [--concurrency 16] [--workers 2] [--data-dir DIR]

Starts the server on a free loopback port over the demo database (offline provider, rate limit lifted), sends
``--requests`` POST /api/query calls from ``--concurrency`` threads (four questions in turn; after the first round
they come from the query cache, as a dashboard's would), and prints requests per second and the p50/p95 latency.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

QUESTIONS = (
    "Сколько транзакций было сегодня?",
    "Топ 5 мерчантов по объему транзакций",
    "Транзакции по валютам",
    "Дневной объем транзакций за последние 7 дней",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", help="Demo data directory (default: the user data dir).")
    args = parser.parse_args()
    port = _free_port()
    command = [sys.executable, "-m", "paysql_magic.cli", "serve", "--demo", "--port", str(port)]
    command += ["--workers", str(args.workers), "--rate-limit", "1000000/minute"]
    command += ["--data-dir", args.data_dir] if args.data_dir else []
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("paysql serve did not start")
            time.sleep(0.5)

        def one(i: int) -> tuple[int, float]:
            start = time.perf_counter()
            response = requests.post(f"{url}/api/query", json={"question": QUESTIONS[i % len(QUESTIONS)]}, timeout=60)
            if response.status_code != 200:
                print(f"{response.status_code}: {response.text[:200]}")
            return response.status_code, time.perf_counter() - start

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            results = list(pool.map(one, range(args.requests)))
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies = sorted(seconds for _, seconds in results)
    ok = sum(status == 200 for status, _ in results)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        f"{args.requests} requests, {args.concurrency} at a time, {args.workers} workers: {ok} answered 200, "
        f"{args.requests / elapsed:.1f} requests/s, p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms"
    )


if __name__ == "__main__":
    main()
