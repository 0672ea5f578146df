"""What each ``paysql serve`` worker unpickles and calls to build its app (light: it is unpickled before the worker
answers uvicorn's health pings, so FastAPI and the core are imported when it is called, not before)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from paysql_magic.api.config import ServeConfig


@dataclass(frozen=True)
class AppFactory:
    """The config, and the secret variables the worker may need (a provider's key, ``PGPASSWORD``), put back into
    the worker's own ``os.environ`` (never into the environment it started with, which ``/proc/PID/environ``
    shows to other processes of the same user)."""

    config: ServeConfig
    secrets: dict[str, str] = field(default_factory=dict, repr=False)

    def __call__(self):
        from paysql_magic.api.app import create_app

        os.environ.update(self.secrets)
        return create_app(self.config)
