"""The offline solc frontend behaves like native solc for what py-solc-x asks of it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from solcx.wrapper import VERSION_REGEX

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "tools" / "solc" / "solc-frontend.js"
PINNED = "0.8.28"


def run(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(FRONTEND), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def standard_input(sources: dict[str, str]) -> str:
    return json.dumps(
        {
            "language": "Solidity",
            "sources": {name: {"content": text} for name, text in sources.items()},
            "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
        }
    )


def test_version_is_in_native_format_that_py_solc_x_parses():
    result = run("--version")

    assert result.returncode == 0
    match = re.search(VERSION_REGEX, result.stdout)
    assert match is not None, result.stdout
    assert match.group(1) == PINNED
    assert result.stdout.splitlines()[1].startswith("Version: ")


def test_standard_json_round_trip_compiles_with_an_openzeppelin_import(tmp_path):
    source = (
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\n"
        'import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";\n'
        "contract UsesMath { function m(uint a, uint b) external pure returns (uint) "
        "{ return Math.max(a, b); } }\n"
    )
    result = run(
        "--standard-json",
        "--base-path",
        str(tmp_path),
        stdin=standard_input({"UsesMath.sol": source}),
    )

    assert result.returncode == 0
    output = json.loads(result.stdout)  # stdout is only JSON
    assert not [e for e in output.get("errors", []) if e["severity"] == "error"]
    contract = output["contracts"]["UsesMath.sol"]["UsesMath"]
    assert contract["abi"][0]["name"] == "m"
    assert len(contract["evm"]["bytecode"]["object"]) > 100
    assert "@openzeppelin/contracts/utils/math/Math.sol" in output["sources"]


def test_imports_resolve_relative_to_base_path(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "L.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0; library L { }\n"
    )
    source = (
        '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0; import "lib/L.sol"; contract C {}'
    )
    result = run(
        "--standard-json", "--base-path", str(tmp_path), stdin=standard_input({"C.sol": source})
    )

    output = json.loads(result.stdout)
    assert "lib/L.sol" in output["sources"]
    assert "C" in output["contracts"]["C.sol"]


def test_compile_error_comes_back_as_solc_json_errors():
    broken = "// SPDX-License-Identifier: MIT\npragma solidity 0.8.28; contract B { function f( }"
    result = run("--standard-json", stdin=standard_input({"B.sol": broken}))

    assert result.returncode == 0
    output = json.loads(result.stdout)
    errors = [e for e in output["errors"] if e["severity"] == "error"]
    assert errors and errors[0]["type"] == "ParserError"
    assert errors[0]["sourceLocation"]["file"] == "B.sol"


def test_missing_import_is_reported_by_path():
    source = (
        '// SPDX-License-Identifier: MIT\npragma solidity 0.8.28; import "nowhere/Missing.sol";'
        " contract C {}"
    )
    result = run("--standard-json", stdin=standard_input({"C.sol": source}))

    output = json.loads(result.stdout)
    messages = [e["message"] for e in output["errors"] if e["severity"] == "error"]
    assert any("nowhere/Missing.sol" in m and "not found" in m.lower() for m in messages)


def test_malformed_input_is_a_json_error_not_a_crash():
    result = run("--standard-json", stdin="{not json")

    output = json.loads(result.stdout)
    assert output["errors"][0]["type"] == "JSONError"


@pytest.mark.parametrize("flag", ["--bin", "--optimize"])
def test_unsupported_option_is_refused_on_stderr_with_nonzero_exit(flag):
    result = run(flag)

    assert result.returncode != 0
    assert flag in result.stderr
    assert result.stdout == ""
