"""What the offline provider understands is listed on request, not in every decline: ``%ask --help`` and
``paysql ask --help-offline``."""

from __future__ import annotations

from paysql_magic import cli


def test_ask_help_lists_the_options_and_the_offline_vocabulary(shell, capsys) -> None:
    assert shell.run_line_magic("ask", "--help") is None
    out = capsys.readouterr().out
    assert "--followup" in out and "The offline provider understands" in out and "what did not happen" in out


def test_paysql_ask_help_offline(capsys) -> None:
    assert cli.main(["ask", "--help-offline"]) == 0
    assert capsys.readouterr().out.startswith("The offline provider understands")
    assert cli.main(["ask"]) == 2
