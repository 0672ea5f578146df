"""Overhead of the LLM provider path, with a loopback Ollama server that answers at once.

    .venv/bin/python benchmarks/provider_overhead.py [--data-dir DIR] [--calls 20]

Each call is a fresh generation (no query cache) of a small query on the demo database through the real ollama
client; figures are medians of N calls, with the schema cached and with it introspected on every call. The
overhead is the wall time minus the database's execution time: prompt, client, HTTP round trip, reply parsing,
guard, validation (name check and EXPLAIN) and the audit write.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path
from time import perf_counter

from paysql_magic import core
from paysql_magic.connection import engine_for
from paysql_magic.demo import default_data_dir, start_demo
from paysql_magic.loopback import Loopback
from paysql_magic.providers.ollama import OllamaProvider
from paysql_magic.schema import introspect

SQL = "SELECT channel, count(*) AS total_transactions FROM transactions WHERE transaction_ts >= current_date GROUP BY 1"
STAGES = ("schema", "prompt", "llm", "extract", "guard", "validate", "execute", "audit")


def measure(engine, provider, calls: int, *, refresh_schema: bool) -> None:
    generation = replace(core.DEFAULT_GENERATION, fresh=True)
    walls, overheads, stages = [], [], {s: [] for s in STAGES}
    for _ in range(calls):
        start = perf_counter()
        result = core.ask("Transactions by channel today", engine, provider=provider, refresh_schema=refresh_schema,
                          generation=generation)  # fmt: skip
        wall = (perf_counter() - start) * 1000
        walls.append(wall)
        overheads.append(wall - result.timings_ms.get("execute", 0.0))
        for stage in STAGES:
            stages[stage].append(result.timings_ms.get(stage, 0.0))
    label = "schema introspected every call" if refresh_schema else "schema cached"
    print(f"{label}: wall {statistics.median(walls):.1f} ms, overhead (wall - execution) "
          f"{statistics.median(overheads):.1f} ms, median of {calls}")  # fmt: skip
    print("  " + ", ".join(f"{s} {statistics.median(v):.1f}" for s, v in stages.items()) + " (ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    engine = engine_for(start_demo(args.data_dir).reader_url)
    introspect(engine)
    server = Loopback()
    reply = {"sql": SQL, "tables": ["transactions"], "assumptions": [], "needs_clarification": None}
    server.always("chat", server.ollama_chat(json.dumps(reply)))
    try:
        provider = OllamaProvider("qwen2.5-coder:7b", host=server.url)
        measure(engine, provider, 2, refresh_schema=False)  # warm up the client and the connection pools
        measure(engine, provider, args.calls, refresh_schema=False)
        measure(engine, provider, args.calls, refresh_schema=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
