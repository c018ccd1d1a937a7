"""Fixtures for the executor suite: a deployed BatchExecutor + vault, test tokens, a small real
Uniswap V2 market, and an ``intents`` helper that builds, signs and encodes orders with the
keeper's own typed-data definition (keeper/intents/types.py)."""

from __future__ import annotations

import pytest

from tests.contracts.helpers import Intents


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def executor(project, owner, keeper, guardian):
    # No admin delay here, so tests can allow-list calls as they go (test_admin_timelock.py
    # tests the delay on an executor of its own).
    return owner.deploy(project.BatchExecutor, owner, guardian, 0, [keeper], [])


@pytest.fixture(scope="session")
def vault(project, executor):
    return project.AllowanceVault.at(executor.vault())


def _token(project, owner, name: str, decimals: int):
    return owner.deploy(project.TestToken, name, name, decimals)


@pytest.fixture(scope="session")
def weth_like(project, owner):
    return _token(project, owner, "WETH", 18)


@pytest.fixture(scope="session")
def usdc(project, owner):
    return _token(project, owner, "USDC", 6)


@pytest.fixture(scope="session")
def wbtc(project, owner):
    return _token(project, owner, "WBTC", 8)


@pytest.fixture(scope="session")
def chain_id(chain) -> int:
    return int(chain.chain_id)


@pytest.fixture(scope="session")
def intents(executor, vault, chain, chain_id) -> Intents:
    return Intents(executor=executor, vault=vault, chain=chain, chain_id=chain_id)


@pytest.fixture(scope="session")
def uniswap_v2(owner, weth_like, usdc, wbtc):
    """A Uniswap V2 factory + Router02 (npm bytecode) with WETH/USDC and WBTC/WETH pools."""
    from keeper.chain.artifacts import container

    factory = owner.deploy(container("UniswapV2Factory"), owner)
    weth9 = owner.deploy(container("WETH9"))
    router = owner.deploy(container("UniswapV2Router02"), factory, weth9)
    pools = [(weth_like, 1_000 * 10**18, usdc, 3_000_000 * 10**6)]
    pools.append((wbtc, 50 * 10**8, weth_like, 1_000 * 10**18))
    for token_a, amount_a, token_b, amount_b in pools:
        for token, amount in ((token_a, amount_a), (token_b, amount_b)):
            token.mint(owner, amount, sender=owner)
            token.approve(router, amount, sender=owner)
        router.addLiquidity(token_a, token_b, amount_a, amount_b, 0, 0, owner, 2**40, sender=owner)
    return router, factory
