"""Session-wide test set-up.

Ape's pytest plugin connects to the network named in ape-config.yaml (anvil through
ape-foundry). The anvil binary and our tools are put on PATH here so plain ``pytest`` works the
same as ``make test``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_extra = [str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin")]
os.environ["PATH"] = os.pathsep.join([*_extra, os.environ.get("PATH", "")])

import pytest  # noqa: E402


# Role-named accounts (Ape's funded test accounts). Session-scoped: Ape isolates each test
# with a chain snapshot, so state never leaks between tests.
@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def keeper(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def attacker(accounts):
    return accounts[9]
