"""This repository's Ape project (compiled BatchExecutor, AllowanceVault, test contracts),
whatever the working directory: ``ape.project`` is the project of the current directory, so a
``keeper`` command run elsewhere would not find the contracts through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def repo_project() -> Any:
    """The Ape project at the repository root (``ape.project`` when that is it)."""
    import ape

    from keeper.chain.anvil import PROJECT_ROOT

    if Path(ape.project.path).resolve() == PROJECT_ROOT:
        return ape.project
    return ape.Project(PROJECT_ROOT)
