"""``paysql.yaml`` -> SemanticModel: YAML read with line numbers, checked against the JSON Schema (``spec.py``),
then against itself (every reference resolves, every join has both ends). Any error is one line naming the file,
the line and what is wrong; nothing is built from a half-read file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation

from paysql_magic.errors import ModelError
from paysql_magic.semantic.model import Edge, Relation, Role, SemanticModel, Value
from paysql_magic.semantic.spec import SCHEMA
from paysql_magic.semantic.translit import latin

Lines = dict[tuple, int]
_VALIDATOR = Draft202012Validator(SCHEMA)


def _walk(node: yaml.Node, path: tuple, lines: Lines, loader: yaml.SafeLoader) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = loader.construct_object(key)
            lines[(*path, name)] = key.start_mark.line + 1
            _walk(value, (*path, name), lines, loader)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, loader)


def read_yaml(text: str, source: str) -> tuple[dict, Lines]:
    """The document and the line of every key and item in it."""
    try:
        document = yaml.safe_load(text)
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ModelError(f"{source}{where}: not valid YAML: {problem}") from None
    if not isinstance(document, dict):
        raise ModelError(f"{source}:1: a semantic model is a mapping (version, semantic_models, payments)")
    lines: Lines = {}
    if node is not None:
        _walk(node, (), lines, loader)
    return document, lines


def _line(lines: Lines, path: tuple) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "the document"


def _violation(error: SchemaViolation) -> tuple[tuple, str]:
    """A JSON Schema error in the words of the file: the key or item at fault and what is wrong with it."""
    path = tuple(error.absolute_path)
    where = _dotted(path)
    if error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)' (?:was|were) unexpected|'([^']+)'", error.message)
        name = next((a or b for a, b in extra if a or b), "?")
        return (*path, name), f"unknown key {name!r} in {where}"
    if error.validator == "required":
        return path, f"{where} needs {error.message.split(' is a required')[0]}"
    if error.validator in ("enum", "const"):
        allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
        return path, f"{where} is {error.instance!r}; expected one of {', '.join(map(str, allowed))}"
    return path, f"{where}: {error.message}"


def validate(document: Mapping, lines: Lines, source: str) -> None:
    """Raise ModelError (one line) for the first violation of the JSON Schema, at its line."""
    errors = sorted(_VALIDATOR.iter_errors(document), key=lambda e: (_line(lines, tuple(e.absolute_path)), e.path))
    if errors:
        path, message = _violation(errors[0])
        raise ModelError(f"{source}:{_line(lines, path)}: {message}")


def _aliases(names: list[str]) -> dict[str, str]:
    """Short, unique SQL aliases: the initials of each name's words ("mcc_reference" -> "mr"), lengthened on a
    clash, numbered when no letters are left; a name in another alphabet ("платежи") gets Latin letters."""
    aliases: dict[str, str] = {}
    for name in names:
        words = [w for w in re.split(r"[^a-z0-9]+", latin(name.lower())) if w] or ["r"]
        initials = "".join(w[0] for w in words)
        candidates = [words[0][:n] for n in range(1, len(words[0]) + 1)] if len(words) == 1 else [initials]
        candidates += [f"{initials}{n}" for n in range(2, len(names) + 3)]
        aliases[name] = next(c for c in candidates if c not in aliases.values() and c[0].isalpha())
    return aliases


def _expr(item: Mapping) -> str:
    return str(item.get("expr") or item["name"])


class _Builder:
    """The checks that JSON Schema cannot express, and the SemanticModel built once they pass."""

    def __init__(self, document: dict, lines: Lines, source: str) -> None:
        self.document, self.lines, self.source = document, lines, source
        self.models = {m["name"]: (i, m) for i, m in enumerate(document["semantic_models"])}
        self.aliases = _aliases(list(self.models))

    def fail(self, path: tuple, message: str) -> ModelError:
        return ModelError(f"{self.source}:{_line(self.lines, path)}: {message}")

    def semantic_model(self, name: str, path: tuple) -> tuple[int, dict]:
        if name not in self.models:
            raise self.fail(path, f"no semantic model named {name!r} (have: {', '.join(self.models)})")
        return self.models[name]

    def dimension(self, model_name: str, dimension: str, path: tuple) -> dict:
        _, model = self.semantic_model(model_name, path)
        found = next((d for d in model.get("dimensions", []) if d["name"] == dimension), None)
        if found is None:
            names = ", ".join(d["name"] for d in model.get("dimensions", [])) or "none"
            raise self.fail(path, f"semantic model {model_name!r} has no dimension {dimension!r} (has: {names})")
        return found

    def edges(self) -> tuple[Edge, ...]:
        primaries = {}
        for name, (_, model) in self.models.items():
            for entity in model["entities"]:
                if entity["type"] in ("primary", "unique", "natural"):
                    primaries.setdefault(entity["name"], (name, _expr(entity)))
        edges = []
        for name, (i, model) in self.models.items():
            for j, entity in enumerate(model["entities"]):
                if entity["type"] != "foreign":
                    continue
                if entity["name"] not in primaries:
                    path = ("semantic_models", i, "entities", j)
                    raise self.fail(path, f"join does not resolve: no semantic model has entity {entity['name']!r}")
                target, right = primaries[entity["name"]]
                if target != name:
                    edges.append(Edge(self.aliases[name], self.aliases[target], _expr(entity), right))
        return tuple(edges)

    def relation(self, name: str, model: dict) -> Relation:
        time = (model.get("defaults") or {}).get("agg_time_dimension")
        times = {d["name"]: _expr(d) for d in model.get("dimensions", []) if d["type"] == "time"}
        return Relation(name, model["model"], self.aliases[name], times.get(time), model.get("description"))

    def role(self, name: str, spec: dict, path: tuple) -> Role:
        model_name, dimension = spec["dimension"].split(".")
        found = self.dimension(model_name, dimension, (*path, "dimension"))
        _, model = self.models[model_name]
        key = next((_expr(e) for e in model["entities"] if e["type"] == "primary"), None)
        values = tuple(_values(spec.get("values")))
        numeric = bool(values) and all(isinstance(v.value, int) for v in values)
        return Role(
            name=name,
            relation=self.aliases[model_name],
            column=_expr(found),
            key=key,
            synonyms=tuple(spec.get("synonyms", ())),
            values=values,
            brands=tuple(_values(spec.get("brands"))),
            numeric=numeric,
            also=tuple(spec.get("also", ())),
        )

    def build(self) -> SemanticModel:
        payments = self.document["payments"]
        _, fact_model = self.semantic_model(payments["fact"], ("payments", "fact"))
        edges = self.edges()
        relations = tuple(self.relation(name, model) for name, (_, model) in self.models.items())
        fact = next(r for r in relations if r.name == payments["fact"])
        time_name = payments.get("time") or (fact_model.get("defaults") or {}).get("agg_time_dimension")
        if not time_name:
            raise self.fail(("payments",), "payments needs time: the fact's time dimension")
        time = self.dimension(fact.name, time_name, ("payments", "time"))
        if time["type"] != "time":
            raise self.fail(("payments", "time"), f"dimension {time_name!r} is not of type time")
        roles = {
            name: self.role(name, spec, ("payments", "roles", name)) for name, spec in payments.get("roles", {}).items()
        }
        model = SemanticModel(
            name=self.document.get("name") or fact.name,
            fact=fact,
            relations=relations,
            edges=edges,
            time=_expr(time),
            amount=payments.get("amount"),
            divisor=100 if payments.get("unit") == "minor" else 1,
            roles=roles,
            turnover_statuses=tuple(
                () if payments.get("turnover_statuses", "all") == "all" else payments["turnover_statuses"]
            ),
            personal=frozenset(self._personal(payments.get("personal", ()))),
            database=(self.document.get("database") or {}).get("name"),
            identity=(self.document.get("database") or {}).get("identity"),
            source=self.source,
            document=self.document,
        )
        for name, role in roles.items():
            if model.path(fact.alias, role.relation) is None:
                path = ("payments", "roles", name, "dimension")
                raise self.fail(
                    path, f"{name}: {model.relation(role.relation).name!r} is not joined to the fact {fact.name!r}"
                )
        return model

    def _personal(self, entries) -> list[str]:
        found = []
        for i, entry in enumerate(entries):
            model_name, column = entry.split(".")
            self.semantic_model(model_name, ("payments", "personal", i))
            found.append(f"{self.aliases[model_name]}.{column}")
        return found


def _values(spec: Mapping | None):
    for value, entry in (spec or {}).items():
        entry = entry or {}
        yield Value(value, entry.get("means"), tuple(entry.get("synonyms", ())))


def from_document(document: dict, *, lines: Lines | None = None, source: str = "the semantic model") -> SemanticModel:
    """A SemanticModel from a parsed document; raises ModelError (one line) when it is invalid or describes no
    payments (see ``load`` for a file that may be a minimal model)."""
    lines = lines or {}
    validate(document, lines, source)
    if "payments" not in document:
        raise ModelError(f"{source}:1: no payments section: name the payments table (payments.fact)")
    return _Builder(document, lines, source).build()


def load(path: str | Path) -> SemanticModel | None:
    """Read and check ``paysql.yaml``; raises ModelError with the file and line of the first problem. A minimal
    model (no payments section: the database has no payment-like table) gives None."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the semantic model: {exc.strerror or exc}") from None
    document, lines = read_yaml(text, str(path))
    validate(document, lines, str(path))
    if "payments" not in document:
        return None
    return from_document(document, lines=lines, source=str(path))
