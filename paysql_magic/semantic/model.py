"""The semantic model as values: the relations of a company's payments, how they join, and what its words mean.

Built from a validated ``paysql.yaml`` document (``load.py``) or a draft (``draft.py``). The offline compiler, the
prompt and the charts read names here, never from code that knows one database.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

from paysql_magic.semantic.spec import MEANINGS

STATUS_MEANINGS = MEANINGS["status"]


@dataclass(frozen=True)
class Relation:
    """One semantic model: a table or view, its alias in generated SQL, and its time column."""

    name: str
    table: str  # as SQL writes it: "acquiring.payments", or bare when on the search path
    alias: str
    time: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Edge:
    """``child`` joins ``parent`` on parent.left = child.right (a foreign entity to its primary entity)."""

    parent: str  # alias
    child: str  # alias
    left: str
    right: str


@dataclass(frozen=True)
class Value:
    """One stored value of a dimension: what it means (a status or channel meaning) and the words for it."""

    value: object
    means: str | None = None
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    """A dimension analysts name: its column, the key its groups are told apart by, and its words and values."""

    name: str
    relation: str  # alias
    column: str
    key: str | None = None  # the relation's primary key: merchants are grouped by id and name
    synonyms: tuple[str, ...] = ()
    values: tuple[Value, ...] = ()
    brands: tuple[Value, ...] = ()  # name prefixes ("Magnum" for every Magnum outlet)
    numeric: bool = False  # values are numbers (status codes): compared as numbers
    also: tuple[str, ...] = ()  # columns shown beside ``column`` (the same name in another language)

    def db_values(self, token: object) -> tuple[object, ...]:
        """The stored values a question's token stands for: every value with that meaning (a narrower one too:
        "online" takes web and app), or the value itself."""
        meant = tuple(v.value for v in self.values if v.means == token or _NARROWER.get(v.means) == token)
        if meant:
            return meant
        return tuple(v.value for v in self.values if v.value == token) or (token,)

    def means(self, token: object) -> bool:
        return any(v.means == token or _NARROWER.get(v.means) == token for v in self.values)


_NARROWER = {"web": "online", "app": "online"}  # a meaning -> the broader one it is part of


@dataclass(frozen=True)
class SemanticModel:
    """A company's payments in business terms: the fact relation, its joins, amount and unit, roles, rules."""

    name: str
    fact: Relation
    relations: tuple[Relation, ...]
    edges: tuple[Edge, ...]
    time: str
    amount: str | None
    divisor: int = 1  # 100 when amounts are stored in minor units (tiyn)
    roles: dict[str, Role] = field(default_factory=dict)
    turnover_statuses: tuple[str, ...] = ()  # () = every status
    personal: frozenset[str] = frozenset()  # "relation_alias.column"
    database: str | None = None  # the name of the database it was made for
    identity: str | None = None  # that database's identity (system identifier and name)
    source: str | None = None  # the file it was read from; None: drafted in memory
    document: dict = field(default_factory=dict, compare=False, repr=False)  # as read, for export and drift

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the document (computed once a model): cache keys and parsers are per model."""
        text = json.dumps(self.document, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def relation(self, alias: str) -> Relation:
        return next(r for r in self.relations if r.alias == alias)

    def role(self, name: str) -> Role | None:
        return self.roles.get(name)

    def path(self, base: str, target: str) -> list[Edge] | None:
        """The joins from ``base`` to ``target`` along foreign -> primary entities (breadth first), or None."""
        seen, queue = {base: []}, deque([base])
        while queue:
            alias = queue.popleft()
            if alias == target:
                return seen[alias]
            for edge in self.edges:
                if edge.parent == alias and edge.child not in seen:
                    seen[edge.child] = [*seen[alias], edge]
                    queue.append(edge.child)
        return None

    def reachable(self, base: str) -> set[str]:
        """The aliases ``base`` reaches by joins (itself included)."""
        return {r.alias for r in self.relations if self.path(base, r.alias) is not None}

    def key_of(self, role: str) -> tuple[str, str] | None:
        """Where a role's rows are told apart, for COUNT(DISTINCT ...): the fact's own foreign key when one join
        away (``t.customer_id``), else the role relation's key (a merchant behind its terminals)."""
        found = self.roles.get(role)
        if found is None:
            return None
        if found.relation == self.fact.alias:
            return found.relation, found.key or found.column
        edges = self.path(self.fact.alias, found.relation)
        if edges is None:
            return None
        if len(edges) == 1:
            return self.fact.alias, edges[0].left
        return found.relation, found.key or edges[-1].right

    def is_personal(self, alias: str, column: str) -> bool:
        return f"{alias}.{column}" in self.personal
