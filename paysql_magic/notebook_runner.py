"""Headless notebook execution (nbclient), shared by ``paysql demo`` and ``paysql report``.

The kernel talks over local sockets (ipc), never TCP; ``env`` adds variables to the kernel's environment
(the database URL of a report, for instance) without touching this process's own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode


def execute(
    nb: NotebookNode, workdir: Path, *, timeout_s: int = 600, env: Mapping[str, str] | None = None
) -> NotebookNode:
    """Execute ``nb`` in place, with ``workdir`` as the kernel's working directory, and return it.

    A failing cell raises ``nbclient.exceptions.CellExecutionError``; the cells run so far keep their outputs.
    """
    from nbclient import NotebookClient

    workdir.mkdir(parents=True, exist_ok=True)
    resources = {"metadata": {"path": str(workdir)}}
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3", resources=resources)
    with tempfile.TemporaryDirectory(prefix="paysql-") as sockets:
        client.km = client.create_kernel_manager()
        client.km.transport = "ipc"  # local sockets (absolute paths): no kernel traffic over TCP
        client.km.ip = os.path.join(sockets, "kernel")
        client.execute(env={**os.environ, **(env or {})})
    return nb


def run_notebook(
    path: Path, workdir: Path, *, timeout_s: int = 600, env: Mapping[str, str] | None = None
) -> NotebookNode:
    """Read the notebook at ``path``, execute it headless in ``workdir`` and return the executed notebook."""
    import nbformat

    return execute(nbformat.read(path, as_version=4), workdir, timeout_s=timeout_s, env=env)
