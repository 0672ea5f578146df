"""The semantic model: a company's payments in business terms, as data (``paysql.yaml``)."""

from __future__ import annotations

from paysql_magic.semantic.load import from_document, load
from paysql_magic.semantic.model import Edge, Relation, Role, SemanticModel, Value

__all__ = ["Edge", "Relation", "Role", "SemanticModel", "Value", "from_document", "load"]
