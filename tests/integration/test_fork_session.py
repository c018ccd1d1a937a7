"""The test session itself: it runs on an anvil fork of the upstream market, the way a session
forks mainnet, and leaves nothing of the fork behind in Ape's mainnet caches."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.fork


def test_the_session_runs_on_an_anvil_fork_of_chain_one(chain, market):
    provider = chain.provider
    assert provider.network.name == "mainnet-fork"
    assert provider.name == "foundry"
    assert int(chain.chain_id) == 1
    assert provider.web3.client_version.startswith("anvil/")
    assert len(provider.get_code(market.contracts["UniswapV3Factory"])) > 0


def test_contracts_deployed_on_the_fork_are_not_cached_as_mainnet_contracts(owner, project, chain):
    from ape import config

    cached = config.DATA_FOLDER / "ethereum" / "mainnet" / "contract_types"
    address = owner.get_deployment_address()
    path = cached / f"{address}.json"
    # ~/.ape is shared with other sessions: compare against what was there before.
    before = path.stat().st_mtime_ns if path.exists() else None

    token = owner.deploy(project.TestToken, "Scratch", "SCR", 18)

    assert token.address == address
    assert (path.stat().st_mtime_ns if path.exists() else None) == before
    assert chain.contracts.contract_types._write_to_disk is False
    assert chain.contracts.get(token.address).name == "TestToken"  # still known in memory
