"""Imports kept off the first answer's path.

``jsonschema`` (the semantic model's validator) imports the optional ``rfc3987-syntax`` package when it is
installed, as it is next to JupyterLab (jupyter-events needs it), and that package builds a Lark grammar at import:
1.3 s of a 1.4 s import, for the ``iri`` format checker, which no paysql schema uses (``isoduration``, for the
``duration`` format, brings ``arrow``: 70 ms more). ``jsonschema_without_iri`` imports jsonschema with those held
back (and importable again right after, for whoever asks for them).
"""

from __future__ import annotations

import sys
from types import ModuleType

_SLOW = ("rfc3987_syntax", "isoduration")  # a Lark grammar (1.3 s); arrow (70 ms)


def jsonschema_without_iri() -> ModuleType:
    """``jsonschema``, imported without its IRI format checker unless it or that checker is already loaded."""
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    held = [name for name in _SLOW if name not in sys.modules]
    for name in held:
        sys.modules[name] = None  # type: ignore[assignment]  # ``import`` of a None entry raises ImportError
    try:
        import jsonschema
    finally:
        for name in held:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
    return jsonschema


jsonschema_without_iri()  # on import: modules that import this one first get the quick jsonschema
