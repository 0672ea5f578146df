"""``paysql init``: draft the model from the database and write ``paysql.yaml`` — the same bytes for the same
database, never over a file the analyst changed unless asked (``--force``), and ``--update`` keeps their edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import Engine

from paysql_magic.errors import ConfigError, ModelError
from paysql_magic.schema import introspect
from paysql_magic.semantic import drift
from paysql_magic.semantic.draft import draft, merge
from paysql_magic.semantic.load import from_document, read_yaml

HEADER = """\
# paysql-magic semantic model, drafted by `paysql init` from database {database!r}.
# The base is dbt's semantic models (semantic_models: entities, dimensions, measures); what only payments need
# (the fact table, the amount's unit, status meanings, words for dimensions and values, personal columns) is
# under `payments`. Edit it freely: `paysql init --update` keeps your edits.
"""


class _Dumper(yaml.SafeDumper):
    """Short lists of words in flow style (``synonyms: [алматы, алма ата]``), everything else in block style."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = bool(data) and all(isinstance(x, str | int) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump(document: dict, database: str | None) -> str:
    """The document as YAML text with its header: deterministic for the same document."""
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return HEADER.format(database=database or "?") + body


@dataclass
class Written:
    path: Path
    document: dict
    summary: str
    notes: list[str] = field(default_factory=list)


def write_model(
    engine: Engine, path: Path, *, schemas: tuple[str, ...] | None = None, force: bool = False, update: bool = False
) -> Written:
    """Draft the model of the database behind ``engine`` and write it to ``path``."""
    schema = introspect(engine, schemas=schemas, refresh=True)
    database = engine.url.database
    drafted = draft(schema, engine=engine, database=database)
    document, notes = drafted.document, list(drafted.notes)
    if update and path.exists():
        edited, _ = read_yaml(path.read_text(encoding="utf-8"), str(path))
        document = merge(edited, document)
        try:
            drift.check(from_document(document, source=str(path)), schema, database)
        except ModelError as exc:
            raise ModelError(f"{exc} (after --update: fix that entry of {path} by hand)") from None
        notes.append(f"kept the edits of {path}; added what the database has that it did not")
    text = dump(document, database)
    if path.exists() and not (force or update):
        if path.read_text(encoding="utf-8") == text:
            return Written(path, document, f"{path}: unchanged (the database still drafts the same model)", notes)
        raise ConfigError(f"{path} exists and differs from the draft: keep it, or pass --update (keeps your edits)"
                          " or --force (overwrites)")  # fmt: skip
    path.write_text(text, encoding="utf-8")
    kind = "a minimal model (no payment-like table)" if "payments" not in document else "the semantic model"
    return Written(path, document, f"Wrote {kind} to {path}: review it, then ask away.", notes)
