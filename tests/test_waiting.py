"""The progress line: a kernel display, a terminal line, or nothing."""

from __future__ import annotations

import io
import re
import threading
import time
from typing import Any

import IPython
import IPython.display
import pytest

from paysql_magic.waiting import waiting


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeHandle:
    def __init__(self, shown: list[str]) -> None:
        self.shown = shown

    def update(self, obj: dict[str, str], raw: bool = False) -> None:
        assert raw
        self.shown.append(obj["text/plain"])


def waiting_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "paysql-waiting"]


def test_terminal_line_counts_seconds_and_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)

    with waiting("asking gemini/gemini-3.5-flash", interval_s=0.05):
        time.sleep(0.3)

    frames = terminal.getvalue().split("\r")
    assert frames[1].strip() == "asking gemini/gemini-3.5-flash ..."
    assert any(re.fullmatch(r"asking gemini/gemini-3\.5-flash \.\.\. 0\.[1-3] s", f.strip()) for f in frames)
    assert frames[-1] == "" and frames[-2].strip() == ""  # the last frame blanks the line and returns
    assert not waiting_threads()


def test_kernel_display_is_updated_then_emptied(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []

    def display(obj: dict[str, str], raw: bool = False, display_id: bool = False) -> FakeHandle:
        assert raw and display_id
        shown.append(obj["text/plain"])
        return FakeHandle(shown)

    monkeypatch.setattr(IPython, "get_ipython", lambda: type("Shell", (), {"kernel": object()})())
    monkeypatch.setattr(IPython.display, "display", display)

    with waiting("asking ollama/qwen2.5-coder:7b", interval_s=0.05):
        time.sleep(0.2)

    assert shown[1] == "asking ollama/qwen2.5-coder:7b ..."
    assert any(text.endswith(" s") for text in shown[2:-1])
    assert shown[-1] == ""


def test_nothing_is_printed_without_a_terminal_or_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    with waiting("asking gemini", interval_s=0.01):
        time.sleep(0.05)

    assert capsys.readouterr() == ("", "")
    assert not waiting_threads()


def test_keyboard_interrupt_propagates_and_stops_the_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)

    with pytest.raises(KeyboardInterrupt), waiting("asking gemini", interval_s=0.01):
        time.sleep(0.05)
        raise KeyboardInterrupt

    assert not waiting_threads()
    assert terminal.getvalue().endswith("\r")


def test_body_result_and_errors_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", FakeTerminal())
    result: list[Any] = []

    with pytest.raises(ValueError, match="boom"), waiting("asking"):
        result.append(1)
        raise ValueError("boom")

    assert result == [1]
    assert not waiting_threads()
