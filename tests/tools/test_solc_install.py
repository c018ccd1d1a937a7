"""tools/solc/install.sh: installs our wrapper, is idempotent, never replaces a native solc."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "tools" / "solc" / "install.sh"


def install(target: Path) -> str:
    result = subprocess.run(
        ["bash", str(INSTALL), str(target), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_installs_a_wrapper_that_answers_version_then_is_idempotent(tmp_path):
    target = tmp_path / "solc-v0.8.28"

    assert "installed" in install(target)
    version = subprocess.run(
        [str(target), "--version"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "Version: 0.8.28+commit" in version.stdout
    assert install(target) == ""  # second run: nothing to do


def test_a_native_compiler_already_installed_is_left_alone(tmp_path):
    target = tmp_path / "solc-v0.8.28"
    target.write_bytes(b"\x7fELF native solc")

    assert "native compiler" in install(target)
    assert target.read_bytes() == b"\x7fELF native solc"
