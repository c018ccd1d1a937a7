"""The Python description of a market and the per-chain deployments file.

:class:`Market` is what the router and the keeper read: tokens (symbol, decimals, address) and
pools (DEX, fee, address, tokens), plus the DEX contracts. :func:`describe_market` derives it
from the market spec alone (every address is canonical or deterministic), so it is known
without a chain; seeding checks the chain against it.

A deployments file (``deployments/<chain id>.json``) records, per chain, the market seeded there
and the executor deployed there. Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from eth_utils import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from keeper.market.addresses import (
    CANONICAL,
    MARKET_DEPLOYER,
    create_address,
    sort_tokens,
    v2_pair_address,
    v3_pool_address,
)
from keeper.market.exceptions import DeploymentsFileError, UnknownTokenError
from keeper.market.spec import DEFAULT_SPEC, TICK_SPACING, MarketSpec, TokenKind

DEPLOYMENTS_DIR = Path(__file__).resolve().parents[2] / "deployments"
MAINNET_CHAIN_ID = 1


def _checksum(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"not an address: {value!r}")
    return to_checksum_address(value)


#: A checksummed 20-byte address.
Address = Annotated[str, AfterValidator(_checksum)]

#: Nonces of :data:`MARKET_DEPLOYER` for the market's own contracts (fixed order).
LOCAL_NONCES = {"FOT": 0, "WBTC-template": 1, "TickLens-template": 2}


class Token(BaseModel):
    """A token of the market."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    name: str
    decimals: int
    address: Address
    kind: TokenKind
    usd_price: float  # the reference price the market was seeded at
    canonical: bool  # at its mainnet address

    def units(self, amount: float) -> int:
        """``amount`` whole tokens in base units (e.g. 1.5 USDC -> 1_500_000)."""
        return round(amount * 10**self.decimals)


class Pool(BaseModel):
    """A pool: Uniswap V2 pair or V3 pool; ``fee`` in hundredths of a bip (3000 = 0.3%)."""

    model_config = ConfigDict(frozen=True)

    dex: Literal["uniswap-v2", "uniswap-v3"]
    address: Address
    token0: Address
    token1: Address
    fee: int
    tick_spacing: int | None = None  # V3 only


class Market(BaseModel):
    """Tokens, pools and DEX contracts of one chain."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    contracts: dict[str, Address]  # e.g. "UniswapV2Router02" -> address
    tokens: tuple[Token, ...]
    pools: tuple[Pool, ...]

    def token(self, symbol_or_address: str) -> Token:
        """The token with this symbol (case-insensitive) or address."""
        wanted = symbol_or_address.lower()
        for token in self.tokens:
            if wanted in (token.symbol.lower(), token.address.lower()):
                return token
        raise UnknownTokenError(symbol_or_address, [t.symbol for t in self.tokens])

    def pools_between(self, a: str, b: str) -> tuple[Pool, ...]:
        """Every pool trading tokens ``a`` and ``b`` (symbols or addresses), V2 first."""
        t0, t1 = sort_tokens(self.token(a).address, self.token(b).address)
        return tuple(p for p in self.pools if (p.token0, p.token1) == (t0, t1))

    def pool(self, a: str, b: str, dex: str, fee: int = 3000) -> Pool:
        """The one pool of ``dex`` at ``fee`` between ``a`` and ``b``."""
        for pool in self.pools_between(a, b):
            if pool.dex == dex and pool.fee == fee:
                return pool
        raise UnknownTokenError(f"{a}/{b} {dex} fee {fee}", [p.address for p in self.pools])


class ExecutorRecord(BaseModel):
    """Where the batch executor was deployed and by whom."""

    model_config = ConfigDict(frozen=True)

    address: Address
    vault: Address
    owner: Address
    guardian: Address
    deployer: Address
    block_number: int
    transaction_hash: str


class Deployments(BaseModel):
    """The contents of one deployments file (one chain)."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    market: Market | None = None
    executor: ExecutorRecord | None = None


def token_address(spec_symbol: str, spec: MarketSpec = DEFAULT_SPEC) -> str:
    """Where the market puts token ``spec_symbol``: canonical, or the market deployer's."""
    token = next((t for t in spec.tokens if t.symbol == spec_symbol), None)
    if token is None:
        raise UnknownTokenError(spec_symbol, [t.symbol for t in spec.tokens])
    if token.canonical:
        return CANONICAL[token.canonical].address
    return create_address(MARKET_DEPLOYER, LOCAL_NONCES[token.symbol])


def describe_market(spec: MarketSpec = DEFAULT_SPEC, chain_id: int = MAINNET_CHAIN_ID) -> Market:
    """The market that seeding ``spec`` produces (no chain needed: all addresses are fixed)."""
    names = ("WETH9", "UniswapV2Factory", "UniswapV2Router02", "UniswapV3Factory")
    contracts = {name: CANONICAL[name].address for name in names}
    for name in ("SwapRouter", "QuoterV2", "NonfungiblePositionManager", "TickLens"):
        contracts[name] = CANONICAL[name].address
    tokens = tuple(
        Token(
            symbol=t.symbol,
            name=t.name,
            decimals=t.decimals,
            address=token_address(t.symbol, spec),
            kind=t.kind,
            usd_price=t.usd_price,
            canonical=t.canonical is not None,
        )
        for t in spec.tokens
    )
    pools = []
    for p in spec.pools:
        a, b = token_address(p.token_a, spec), token_address(p.token_b, spec)
        t0, t1 = sort_tokens(a, b)
        if p.dex == "uniswap-v2":
            address = v2_pair_address(contracts["UniswapV2Factory"], a, b)
            pools.append(Pool(dex=p.dex, address=address, token0=t0, token1=t1, fee=p.fee))
        else:
            address = v3_pool_address(contracts["UniswapV3Factory"], a, b, p.fee)
            pools.append(
                Pool(
                    dex=p.dex,
                    address=address,
                    token0=t0,
                    token1=t1,
                    fee=p.fee,
                    tick_spacing=TICK_SPACING[p.fee],
                )
            )
    return Market(chain_id=chain_id, contracts=contracts, tokens=tokens, pools=tuple(pools))


def deployments_path(chain_id: int, root: Path = DEPLOYMENTS_DIR) -> Path:
    """The deployments file of ``chain_id``: ``<root>/<chain id>.json``."""
    return root / f"{chain_id}.json"


def load_deployments(path: Path, chain_id: int | None = None) -> Deployments:
    """Read a deployments file; a missing file is an empty record for ``chain_id``."""
    if not path.exists():
        if chain_id is None:
            raise DeploymentsFileError(path, "does not exist")
        return Deployments(chain_id=chain_id)
    try:
        record = Deployments.model_validate_json(path.read_text())
    except (OSError, ValidationError) as err:
        raise DeploymentsFileError(path, f"unreadable: {err}") from err
    if chain_id is not None and record.chain_id != chain_id:
        raise DeploymentsFileError(path, f"is for chain {record.chain_id}, not {chain_id}")
    return record


def save_deployments(record: Deployments, path: Path) -> None:
    """Write ``record`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record.model_dump(mode="json"), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def load_market(chain_id: int = MAINNET_CHAIN_ID, root: Path = DEPLOYMENTS_DIR) -> Market:
    """The market recorded for ``chain_id``, else the seeded market's description."""
    path = deployments_path(chain_id, root)
    if path.exists() and (market := load_deployments(path, chain_id).market) is not None:
        return market
    return describe_market(chain_id=chain_id)
