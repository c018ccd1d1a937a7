"""The one table of canonical Ethereum mainnet addresses the local market reproduces.

Each canonical contract is recreated where mainnet has it by replaying its original creation:
the original deployer is impersonated on anvil, its nonce set to the nonce of the mainnet
creation (``anvil_setNonce``), and the npm bytecode deployed with the mainnet constructor
arguments. ``CREATE`` then yields the mainnet address, and the constructor runs for real
(immutables and storage are exact). The (deployer, nonce) pairs were checked against the
addresses (``create_address(deployer, nonce) == address``; see tests/integration).

Where the original deployer is not known (WBTC, TickLens) the runtime code and storage of a
freshly deployed copy are placed at the canonical address with ``anvil_setCode`` /
``anvil_setStorageAt`` ("etched").
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import rlp
from eth_utils import keccak, to_bytes, to_checksum_address

Placement = Literal["replayed", "etched", "local"]


class CanonicalSlot(NamedTuple):
    """Where a contract lives on mainnet, and how the local market puts it there."""

    address: str
    deployer: str | None  # the mainnet creator (None: unknown, the code is etched instead)
    nonce: int | None  # the creator's nonce at the mainnet creation


#: Uniswap V2 + V3 + WETH9 and the major tokens on Ethereum mainnet (chain id 1).
CANONICAL: dict[str, CanonicalSlot] = {
    "WETH9": CanonicalSlot(
        "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        "0x4F26FfBe5F04ED43630fdC30A87638d53D0b0876",
        446,
    ),
    "UniswapV2Factory": CanonicalSlot(
        "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f",
        "0x9C33eaCc2F50E39940D3AfaF2c7B8246B681A374",
        0,
    ),
    "UniswapV2Router02": CanonicalSlot(
        "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D",
        "0x9C33eaCc2F50E39940D3AfaF2c7B8246B681A374",
        3,
    ),
    "UniswapV3Factory": CanonicalSlot(
        "0x1F98431c8aD98523631AE4a59f267346ea31F984",
        "0x6C9FC64A53c1b71FB3f9Af64d1ae3A4931A5f4E9",
        0,
    ),
    "SwapRouter": CanonicalSlot(
        "0xE592427A0AEce92De3Edee1F18E0157C05861564",
        "0x6C9FC64A53c1b71FB3f9Af64d1ae3A4931A5f4E9",
        4,
    ),
    "NonfungiblePositionManager": CanonicalSlot(
        "0xC36442b4a4522E871399CD717aBDD847Ab11FE88",
        "0x6C9FC64A53c1b71FB3f9Af64d1ae3A4931A5f4E9",
        8,
    ),
    "QuoterV2": CanonicalSlot(
        "0x61fFE014bA17989E743c5F6cB21bF9697530B21e",
        "0x6C9FC64A53c1b71FB3f9Af64d1ae3A4931A5f4E9",
        13,
    ),
    "TickLens": CanonicalSlot("0xBfD8137F7D1516D3Ea5CA83523914859EC47C573", None, None),
    "USDC": CanonicalSlot(
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        "0x95Ba4cF87D6723ad9C0Db21737D862bE80e93911",
        20,
    ),
    "USDT": CanonicalSlot(
        "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        "0x36928500Bc1dCd7af6a2B4008875CC336b927D57",
        6,
    ),
    "DAI": CanonicalSlot(
        "0x6B175474E89094C44Da98b954EedeAC495271d0F",
        "0xb5b06a16621616875A6C2637948bF98eA57c58fa",
        1,
    ),
    "WBTC": CanonicalSlot("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599", None, None),
}

#: The mainnet NonfungibleTokenPositionDescriptor (constructor argument of the position
#: manager; not deployed locally, so only ``tokenURI`` is unavailable).
POSITION_DESCRIPTOR = "0xEe6A57eC80ea46401049E92587E52f5Ec1c24785"

#: Init-code hashes the periphery libraries hard-code (pair/pool address derivation).
V2_PAIR_INIT_CODE_HASH = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
V3_POOL_INIT_CODE_HASH = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"

#: Local-only actors, derived from labels so they never collide with anyone's keys:
#: the deployer of the market's non-canonical contracts, and the liquidity provider.
MARKET_DEPLOYER = to_checksum_address(keccak(text="intent-rebalancer/market-deployer")[12:])
MARKET_MAKER = to_checksum_address(keccak(text="intent-rebalancer/market-maker")[12:])


def create_address(deployer: str, nonce: int) -> str:
    """The address ``CREATE`` gives a contract deployed by ``deployer`` at ``nonce``."""
    encoded = rlp.encode([to_bytes(hexstr=deployer), nonce])
    return to_checksum_address(keccak(encoded)[12:])


def create2_address(deployer: str, salt: bytes, init_code_hash: str) -> str:
    """The address ``CREATE2`` gives (EIP-1014)."""
    preimage = b"\xff" + to_bytes(hexstr=deployer) + salt + to_bytes(hexstr=init_code_hash)
    return to_checksum_address(keccak(preimage)[12:])


def sort_tokens(a: str, b: str) -> tuple[str, str]:
    """(token0, token1): Uniswap orders a pair's tokens by address."""
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


def v2_pair_address(factory: str, a: str, b: str) -> str:
    """The Uniswap V2 pair address of tokens ``a``/``b`` (UniswapV2Library.pairFor)."""
    t0, t1 = sort_tokens(a, b)
    salt = keccak(to_bytes(hexstr=t0) + to_bytes(hexstr=t1))
    return create2_address(factory, salt, V2_PAIR_INIT_CODE_HASH)


def v3_pool_address(factory: str, a: str, b: str, fee: int) -> str:
    """The Uniswap V3 pool address of ``a``/``b`` at ``fee`` (PoolAddress.computeAddress)."""
    t0, t1 = sort_tokens(a, b)
    salt = keccak(
        to_bytes(hexstr=t0).rjust(32, b"\0")
        + to_bytes(hexstr=t1).rjust(32, b"\0")
        + fee.to_bytes(32, "big")
    )
    return create2_address(factory, salt, V3_POOL_INIT_CODE_HASH)
