"""The demo: an embedded PostgreSQL holding a deterministic payments dataset, read through ``paysql_reader``."""

from __future__ import annotations

from paysql_magic.demo.dataset import READER_ROLE, TIMEZONE, DemoDatabase, prepare_database
from paysql_magic.demo.model import MODEL_FILE, demo_model
from paysql_magic.demo.server import DATABASE, default_data_dir, start_demo, stop_demo

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
