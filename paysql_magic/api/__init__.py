"""The HTTP API: the brief's ``POST /api/query`` contract over the same core as the notebook magic.

``paysql serve`` runs it (``serve.py``); ``create_app(config)`` builds it (``app.py``). One module per job:
``config`` (options and environment), ``auth`` and ``keys`` (who may call), ``ratelimit``, ``gate`` (the
middleware), ``queries`` and ``status`` (routes), ``pages`` (web page and docs), ``serialize`` (DataFrame -> JSON),
``refusals`` (audit rows of calls refused before the core), ``errors`` (codes and statuses), ``factory`` (what a
worker process unpickles and calls).

The names below are loaded on first use: a worker unpickles its config (``config``, ``factory``) before it answers
uvicorn's health pings, so importing this package must not import FastAPI, pandas and the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paysql_magic.api.app import create_app
    from paysql_magic.api.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from paysql_magic.api.app import create_app

        return create_app
    if name == "ServeConfig":
        from paysql_magic.api.config import ServeConfig

        return ServeConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
