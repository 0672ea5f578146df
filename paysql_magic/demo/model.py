"""The demo database's semantic model, shipped beside its builder (``paysql.yaml`` in this folder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from paysql_magic.semantic import SemanticModel, load

MODEL_FILE = Path(__file__).with_name("paysql.yaml")


@cache
def demo_model() -> SemanticModel:
    """The demo's semantic model, read once."""
    model = load(MODEL_FILE)
    assert model is not None, "the demo's model describes its payments"
    return model
