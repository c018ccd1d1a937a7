"""The seeded market saved as an anvil state file, and anvils serving it.

:func:`state_file` returns the state file for a market spec, generating it when missing. Files
are named by a fingerprint of everything that shapes the chain (the spec, every contract's
bytecode, the seeding code, the anvil version), so a change regenerates and an unchanged
market is reused: generation is idempotent and takes a few seconds; loading takes ~0.1 s.
Files live in ``.build/market/`` (git-ignored, removed by ``make clean``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

from keeper.chain.anvil import PROJECT_ROOT, AnvilProcess, find_anvil
from keeper.market.addresses import MARKET_MAKER
from keeper.market.deployments import MAINNET_CHAIN_ID, Market
from keeper.market.exceptions import SeedingError
from keeper.market.seed import TOKEN_CONTRACTS, ContractSource, default_source, seed
from keeper.market.spec import DEFAULT_SPEC, MarketSpec

STATE_DIR = PROJECT_ROOT / ".build" / "market"
_SEEDING_CODE = ("addresses.py", "deployments.py", "liquidity.py", "seed.py", "spec.py")
_PROTOCOL = (
    "WETH9",
    "UniswapV2Factory",
    "UniswapV2Router02",
    "UniswapV3Factory",
    "SwapRouter",
    "NonfungiblePositionManager",
    "QuoterV2",
    "TickLens",
)


def fingerprint(spec: MarketSpec = DEFAULT_SPEC, source: ContractSource = default_source) -> str:
    """A short hash of everything the seeded chain depends on."""
    digest = hashlib.sha256()
    digest.update(spec.model_dump_json().encode())
    for name in (*_PROTOCOL, *sorted(set(TOKEN_CONTRACTS.values()))):
        digest.update(source(name)[1].encode())
    here = Path(__file__).parent
    for module in _SEEDING_CODE:
        digest.update((here / module).read_bytes())
    version = subprocess.run(
        [find_anvil(), "--version"], capture_output=True, text=True, check=False
    ).stdout
    digest.update(version.encode())
    return digest.hexdigest()[:16]


def generate_state(
    path: Path, spec: MarketSpec = DEFAULT_SPEC, source: ContractSource = default_source
) -> Market:
    """Seed a fresh chain-id-1 anvil with ``spec`` and save its state to ``path`` (atomically)."""
    from web3 import HTTPProvider, Web3

    with AnvilProcess(chain_id=MAINNET_CHAIN_ID) as node:
        w3 = Web3(HTTPProvider(node.url))
        market = seed(w3, MARKET_MAKER, spec, source)
        response = w3.provider.make_request("anvil_dumpState", [])  # type: ignore[arg-type]
        if "error" in response:
            raise SeedingError("dump state", str(response["error"]))
        state = json.loads(gzip.decompress(bytes.fromhex(response["result"][2:])))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, path)
    return market


def state_file(
    spec: MarketSpec = DEFAULT_SPEC,
    source: ContractSource = default_source,
    directory: Path = STATE_DIR,
) -> Path:
    """The saved state of the market ``spec``, generated first if it does not exist yet."""
    path = directory / f"market-{fingerprint(spec, source)}.json"
    if not path.exists():
        generate_state(path, spec, source)
        for stale in directory.glob("market-*.json"):  # states of earlier market versions
            if stale != path:
                stale.unlink(missing_ok=True)
    return path


def market_node(state: Path, port: int | None = None) -> AnvilProcess:
    """An (unstarted) anvil serving the saved market as chain id 1: ``with market_node(p):``."""
    return AnvilProcess(chain_id=MAINNET_CHAIN_ID, port=port, args=["--load-state", str(state)])
