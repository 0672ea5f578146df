"""The demo: an embedded PostgreSQL holding a deterministic payments dataset, read through ``paysql_reader``.

Names are imported on first use (PEP 562): reading the demo's semantic model, as every answer on the demo database
does, needs neither the server nor the dataset builder.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paysql_magic.demo.dataset import READER_ROLE, TIMEZONE, DemoDatabase, prepare_database
    from paysql_magic.demo.model import MODEL_FILE, demo_model
    from paysql_magic.demo.server import DATABASE, default_data_dir, start_demo, stop_demo

_WHERE = {
    "READER_ROLE": "dataset",
    "TIMEZONE": "dataset",
    "DemoDatabase": "dataset",
    "prepare_database": "dataset",
    "MODEL_FILE": "model",
    "demo_model": "model",
    "DATABASE": "server",
    "default_data_dir": "server",
    "start_demo": "server",
    "stop_demo": "server",
}

__all__ = [
    "DATABASE",
    "MODEL_FILE",
    "READER_ROLE",
    "TIMEZONE",
    "DemoDatabase",
    "default_data_dir",
    "demo_model",
    "prepare_database",
    "start_demo",
    "stop_demo",
]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
