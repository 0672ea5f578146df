"""A progress line while a slow call runs: "asking gemini/gemini-3.5-flash ... 3.2 s".

In a Jupyter kernel the line is a display updated in place; in a terminal it is redrawn with ``\\r`` on
stderr; anywhere else (a pipe, a log file, a test) nothing is printed. A background thread redraws it every
``interval_s`` seconds and stops, and the line is cleared, however the body ends (KeyboardInterrupt too).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class _Line(Protocol):
    def show(self, text: str) -> None: ...

    def clear(self) -> None: ...


class _KernelLine:
    """A display in the notebook output, updated through its display handle."""

    def __init__(self, display: Any) -> None:
        self._handle = display({"text/plain": ""}, raw=True, display_id=True)

    def show(self, text: str) -> None:
        self._handle.update({"text/plain": text}, raw=True)

    def clear(self) -> None:
        self._handle.update({"text/plain": ""}, raw=True)


class _TerminalLine:
    """One line on a terminal's stderr, redrawn from its start."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._width = 0

    def show(self, text: str) -> None:
        self._width = max(self._width, len(text))
        self._stream.write(f"\r{text.ljust(self._width)}")
        self._stream.flush()

    def clear(self) -> None:
        self._stream.write(f"\r{' ' * self._width}\r")
        self._stream.flush()


@contextmanager
def waiting(label: str, *, interval_s: float = 0.2) -> Iterator[None]:
    """Show ``label`` and the seconds elapsed while the body runs; remove the line when it ends."""
    line = _open_line()
    if line is None:
        yield
        return
    started = time.monotonic()
    stop = threading.Event()

    def redraw() -> None:
        while not stop.wait(interval_s):
            line.show(f"{label} ... {time.monotonic() - started:.1f} s")

    line.show(f"{label} ...")
    thread = threading.Thread(target=redraw, name="paysql-waiting", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        line.clear()


def _open_line() -> _Line | None:
    """Where the line goes: the kernel's display, a terminal's stderr, or nowhere."""
    if "IPython" in sys.modules:  # only a process already running IPython can be in a kernel
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        if shell is not None and getattr(shell, "kernel", None) is not None:
            return _KernelLine(display)
    stream = sys.stderr
    if stream is not None and stream.isatty():
        return _TerminalLine(stream)
    return None
