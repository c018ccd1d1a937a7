"""Fixtures of the fork suite: the forked market's DEX contracts and tokens as Ape contracts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

DEADLINE = 2**40


@pytest.fixture(scope="session")
def seeded_market(market, chain):
    """The market, when it is our seeded one (skips on a real mainnet fork)."""
    local_only = [t for t in market.tokens if not t.canonical]
    if not local_only or len(chain.provider.get_code(local_only[0].address)) == 0:
        pytest.skip("needs the seeded market (this is a real mainnet fork)")
    return market


@pytest.fixture(scope="session")
def dex(market):
    """Uniswap V2/V3 contracts of the forked market, as Ape contract instances."""
    from keeper.chain.artifacts import container

    names = {
        "v2_factory": "UniswapV2Factory",
        "v2_router": "UniswapV2Router02",
        "v3_factory": "UniswapV3Factory",
        "swap_router": "SwapRouter",
        "quoter": "QuoterV2",
        "positions": "NonfungiblePositionManager",
        "tick_lens": "TickLens",
    }
    return SimpleNamespace(
        **{key: container(name).at(market.contracts[name]) for key, name in names.items()}
    )


@pytest.fixture(scope="session")
def erc20(market, project):
    """``erc20("USDC")``: the market's token as an Ape contract instance."""
    from keeper.chain.artifacts import container

    def get(symbol: str):
        token = market.token(symbol)
        if token.kind == "weth":
            return container("WETH9").at(token.address)
        if token.kind == "fee-on-transfer":
            return project.FeeOnTransferToken.at(token.address)
        return project.TestToken.at(token.address)

    return get


@pytest.fixture(scope="session")
def v2_pair():
    from keeper.chain.artifacts import container

    return lambda address: container("UniswapV2Pair").at(address)


@pytest.fixture(scope="session")
def v3_pool():
    from keeper.chain.artifacts import container

    return lambda address: container("UniswapV3Pool").at(address)
