"""Compiled protocol contracts shipped in npm packages (Uniswap V2/V3, WETH9).

These are the real, audited bytecodes (not recompiled), loaded as Ape contract containers so
they deploy and are called like project contracts. Only this module knows where in
``node_modules`` each artifact lives.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keeper.exceptions import KeeperError

if TYPE_CHECKING:
    from ape.contracts import ContractContainer
    from ethpm_types import ContractType

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

_V3_CORE = "@uniswap/v3-core/artifacts/contracts"
_V3_PERIPHERY = "@uniswap/v3-periphery/artifacts/contracts"

#: name -> artifact path inside node_modules
ARTIFACTS: dict[str, str] = {
    "WETH9": "canonical-weth/build/contracts/WETH9.json",
    "UniswapV2Factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "UniswapV2Pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "UniswapV3Factory": f"{_V3_CORE}/UniswapV3Factory.sol/UniswapV3Factory.json",
    "UniswapV3Pool": f"{_V3_CORE}/UniswapV3Pool.sol/UniswapV3Pool.json",
    "SwapRouter": f"{_V3_PERIPHERY}/SwapRouter.sol/SwapRouter.json",
    "QuoterV2": f"{_V3_PERIPHERY}/lens/QuoterV2.sol/QuoterV2.json",
    "NonfungiblePositionManager": (
        f"{_V3_PERIPHERY}/NonfungiblePositionManager.sol/NonfungiblePositionManager.json"
    ),
    "TickLens": f"{_V3_PERIPHERY}/lens/TickLens.sol/TickLens.json",
}


class ArtifactError(KeeperError):
    """An npm artifact is unknown or cannot be read."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"artifact '{name}': {problem}")


def _hex(value: Any) -> str:
    text = value["object"] if isinstance(value, dict) else str(value or "")
    return text if text.startswith("0x") else f"0x{text}"


@cache
def artifact_json(name: str) -> dict[str, Any]:
    """The raw artifact (ABI and bytecode) of ``name``, one of :data:`ARTIFACTS`."""
    if name not in ARTIFACTS:
        raise ArtifactError(name, f"unknown; expected one of {', '.join(sorted(ARTIFACTS))}")
    path = NODE_MODULES / ARTIFACTS[name]
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ArtifactError(name, f"{path} is missing (run 'npm ci')") from err
    return data


def contract_type(name: str) -> ContractType:
    """An ethpm ``ContractType`` for the artifact (ABI, deployment and runtime bytecode)."""
    from ethpm_types import ContractType

    data = artifact_json(name)
    runtime = data.get("deployedBytecode") or data.get("evm", {}).get("deployedBytecode")
    return ContractType.model_validate(
        {
            "contractName": name,
            "abi": data["abi"],
            "deploymentBytecode": {"bytecode": _hex(data["bytecode"])},
            "runtimeBytecode": {"bytecode": _hex(runtime)} if runtime else {},
        }
    )


def container(name: str) -> ContractContainer:
    """An Ape ``ContractContainer``: ``account.deploy(container("WETH9"))``, ``.at(address)``."""
    from ape.contracts import ContractContainer

    return ContractContainer(contract_type(name))
