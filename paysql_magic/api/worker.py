"""``paysql worker``: runs the jobs of ``POST /api/jobs`` from their queue in Redis (``queue``), one at a time, each in
a work horse forked for it. Start as many as the database can take, on any machine that reaches Redis and the
database; each has its own database URL, limits and provider keys (the jobs carry none), read from its options,
the environment or ``--secrets-file``. SIGTERM (or Ctrl-C) lets the running job finish first; a second one stops
at once, and the job is retried by another worker."""

from __future__ import annotations

import argparse
import os

from paysql_magic.api import queue
from paysql_magic.api.serve import database_url, read_secrets_file
from paysql_magic.connection import mask
from paysql_magic.errors import ConfigError
from paysql_magic.settings import REDIS_URL_ENV, env_audit_url, env_redis_url, format_size

JOB_MONITORING_S = 10  # how often a worker checks its work horse (and renews the job's heartbeat)
MAINTENANCE_S = 60  # how often a worker requeues (or fails) the jobs of dead workers (RQ: every 10 minutes)
# An idle worker waits for a job at most WORKER_TTL_S - 15 s at a time (RQ's rule), then renews its registration and
# runs the maintenance above; a dead worker leaves /api/health's count WORKER_TTL_S after its last renewal (RQ's 420 s
# default also held the maintenance back that long).
WORKER_TTL_S = MAINTENANCE_S + 15


def work(args: argparse.Namespace) -> int:
    """Take jobs until stopped (``--burst``: until the queue is empty)."""
    from rq import Worker

    if args.secrets_file:
        os.environ.update(read_secrets_file(args.secrets_file))
    redis_url = env_redis_url()
    if not redis_url:
        raise ConfigError(f"paysql worker needs Redis: set {REDIS_URL_ENV} (or put it in --secrets-file)")
    setup = queue.WorkerSetup(
        database_url=database_url(args),
        redis_url=redis_url,
        timeout_s=args.timeout,
        max_rows=args.max_rows,
        max_bytes=args.max_bytes,
        audit_url=env_audit_url(),
        result_ttl=args.result_ttl,
    )
    queue.install(setup)
    jobs = queue.queue(queue.connect(redis_url))
    print(f"paysql worker: database {mask(setup.database_url)}", flush=True)
    print(
        f"paysql worker: jobs from {queue.QUEUE_NAME} in Redis {mask(redis_url)}; statement timeout "
        f"{setup.timeout_s:g} s, at most {setup.max_rows:,} rows and {format_size(setup.max_bytes)} a job",
        flush=True,
    )
    worker = Worker(
        [jobs],
        connection=jobs.connection,
        serializer=jobs.serializer,
        job_monitoring_interval=JOB_MONITORING_S,
        maintenance_interval=MAINTENANCE_S,
        worker_ttl=WORKER_TTL_S,
    )
    worker.work(burst=args.burst, logging_level="INFO")
    return 0
