"""Any Python text as PostgreSQL text, losslessly: the two things a ``text`` column cannot hold escaped.

PostgreSQL text holds no NUL (``\\x00``), and a lone surrogate (``\\ud800``: Python strings may carry one, JSON
can send one) has no UTF-8 form, so the driver cannot even encode it. ``escape`` returns None when a value needs
nothing (the common case: stored exactly as given), else the value with every backslash doubled and each NUL or
surrogate written ``\\uXXXX``; ``unescape`` gives the original back. Whoever stores an escaped value records that
it is escaped (the audit log's ``escaped`` column names the fields), so plain text is never unescaped by mistake.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ESCAPE = re.compile("[\\\\\x00\ud800-\udfff]")
_UNESCAPE = re.compile(r"\\(\\|u[0-9a-f]{4})")


def storable(value: str) -> bool:
    """Whether PostgreSQL text can hold ``value`` as it is."""
    return _UNSTORABLE.search(value) is None


def escape(value: str) -> str | None:
    """``value`` in a form PostgreSQL text holds, or None when it holds it as it is."""
    if storable(value):
        return None
    return _ESCAPE.sub(lambda m: "\\\\" if m.group() == "\\" else f"\\u{ord(m.group()):04x}", value)


def unescape(value: str) -> str:
    """The original of an ``escape``d value."""
    return _UNESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)), value)


def stored(value: str) -> str:
    """``value`` escaped when it must be (a key or a label, where only a stable, storable form matters)."""
    escaped = escape(value)
    return value if escaped is None else escaped
