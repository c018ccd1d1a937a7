"""The market description and the per-chain deployments file."""

from __future__ import annotations

import pytest

from keeper.market.deployments import (
    Deployments,
    ExecutorRecord,
    deployments_path,
    describe_market,
    load_deployments,
    load_market,
    save_deployments,
)
from keeper.market.exceptions import DeploymentsFileError, UnknownTokenError

_ADDRESS = "0x" + "11" * 20


def _record(chain_id: int = 1) -> Deployments:
    executor = ExecutorRecord(
        address=_ADDRESS,
        vault=_ADDRESS,
        owner=_ADDRESS,
        guardian=_ADDRESS,
        deployer=_ADDRESS,
        block_number=7,
        transaction_hash="0x" + "ab" * 32,
    )
    return Deployments(chain_id=chain_id, market=describe_market(), executor=executor)


def test_a_deployments_file_round_trips(tmp_path):
    path = deployments_path(1, tmp_path)
    save_deployments(_record(), path)

    assert path.name == "1.json"
    assert load_deployments(path, 1) == _record()
    assert load_market(1, tmp_path) == describe_market()


def test_a_deployments_file_for_another_chain_is_rejected(tmp_path):
    path = tmp_path / "1.json"
    save_deployments(_record(chain_id=5), path)

    with pytest.raises(DeploymentsFileError, match="is for chain 5, not 1"):
        load_deployments(path, 1)


def test_a_corrupt_deployments_file_is_reported_with_its_path(tmp_path):
    path = tmp_path / "1.json"
    path.write_text("{not json")

    with pytest.raises(DeploymentsFileError, match=str(path)):
        load_deployments(path, 1)


def test_a_missing_file_is_an_empty_record_only_when_the_chain_is_known(tmp_path):
    assert load_deployments(tmp_path / "9.json", 9) == Deployments(chain_id=9)
    with pytest.raises(DeploymentsFileError, match="does not exist"):
        load_deployments(tmp_path / "9.json")


def test_tokens_are_found_by_symbol_or_address_and_unknown_ones_are_named():
    market = describe_market()
    usdc = market.token("usdc")
    assert market.token(usdc.address.lower()) == usdc
    assert (usdc.decimals, usdc.units(1.5)) == (6, 1_500_000)

    with pytest.raises(UnknownTokenError, match="'SHIB'") as caught:
        market.token("SHIB")
    assert "WBTC" in caught.value.known


def test_pools_between_a_pair_list_each_dex_and_fee_once():
    pools = describe_market().pools_between("USDC", "WETH")
    assert {(p.dex, p.fee) for p in pools} == {
        ("uniswap-v2", 3000),
        ("uniswap-v3", 500),
        ("uniswap-v3", 3000),
        ("uniswap-v3", 10000),
    }
    assert all(int(p.token0, 16) < int(p.token1, 16) for p in pools)
