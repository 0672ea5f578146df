"""Which semantic model a call uses: the file named (``--semantic-model``, ``Ask.semantic_model``,
``PAYSQL_SEMANTIC_MODEL``), else ``paysql.yaml`` in the working directory, else the demo's own model on the demo
database, else a draft made in memory from the database (the same draft ``paysql init`` would write)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from paysql_magic.egress import is_demo
from paysql_magic.schema import Schema
from paysql_magic.semantic import drift
from paysql_magic.semantic.load import load
from paysql_magic.semantic.model import SemanticModel
from paysql_magic.semantic.values import with_database_values
from paysql_magic.settings import env_semantic_model

DEFAULT_FILE = "paysql.yaml"
DRAFTED = "-- semantic model: drafted in memory from the database; paysql init writes it to paysql.yaml for you to edit"
NO_PAYMENTS = (
    "-- semantic model: {where} names no payments table; the offline provider declines, a language model can answer"
)

_loaded: dict[tuple[str, float], SemanticModel | None] = {}
_bound_models: dict[tuple[str, str, str], SemanticModel] = {}
_drafts: dict[str, SemanticModel | None] = {}
_lock = threading.Lock()


def _from_file(path: Path) -> SemanticModel | None:
    key = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    with _lock:
        if key not in _loaded:
            _loaded[key] = load(path)
        return _loaded[key]


def _bound(engine: Engine, model: SemanticModel, schema: Schema) -> SemanticModel:
    """The model with the database's small name columns read (once per model and schema)."""
    key = (engine.url.render_as_string(hide_password=True), model.fingerprint, schema.hash)
    if key not in _bound_models:
        _bound_models[key] = with_database_values(engine, model, schema)
    return _bound_models[key]


def model_file(named: str | None) -> Path | None:
    """The semantic model file a call uses, if any."""
    if named or (named := env_semantic_model()):
        return Path(named).expanduser()
    here = Path(DEFAULT_FILE)
    return here if here.is_file() else None


def model_for(engine: Engine, schema: Schema, named: str | None = None) -> tuple[SemanticModel | None, str | None]:
    """The model for this database, and a note to show once when it was drafted rather than read from a file
    (None: a database with no payment-like table, which only a language model can answer).
    Raises ModelError (one line) for an invalid file or one that does not match the database."""
    path = model_file(named)
    if path is not None:
        model = _from_file(path)
        if model is None:
            return None, NO_PAYMENTS.format(where=path)
        drift.check(model, schema, engine.url.database)
        gone = drift.stale_values(model, schema)
        note = f"-- semantic model: {', '.join(gone[:3])} no longer in the database; {drift.FIX}" if gone else None
        return _bound(engine, model, schema), note
    if is_demo(engine):
        from paysql_magic.demo import demo_model

        return demo_model(), None
    from paysql_magic.semantic.draft import draft

    with _lock:
        if schema.hash not in _drafts:
            drafted = draft(schema, engine=engine, database=engine.url.database).model
            _drafts[schema.hash] = _bound(engine, drafted, schema) if drafted is not None else None
        model = _drafts[schema.hash]
        return model, DRAFTED if model is not None else NO_PAYMENTS.format(where="the database")
