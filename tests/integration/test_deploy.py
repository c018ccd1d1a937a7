"""Deploying the executor: the pure function on the fork, and ``ape run deploy`` end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keeper.market.deployments import load_deployments
from keeper.market.exceptions import ExecutorDeploymentError
from keeper.market.executor import DEFAULT_ADMIN_DELAY, deploy
from keeper.routing.calldata import (
    ERC20_APPROVE,
    ERC20_TRANSFER,
    V2_PAIR_SWAP,
    V3_EXACT_INPUT_SINGLE,
    routing_calls,
    selector,
)

pytestmark = pytest.mark.fork
ROOT = Path(__file__).resolve().parents[2]


def test_deploy_allow_lists_keepers_and_the_calls_the_keeper_routes_through_and_records_it(
    owner, keeper, market, project, tmp_path, chain
):
    path = tmp_path / f"{chain.chain_id}.json"
    result = deploy(
        owner, keepers=[keeper.address], calls=routing_calls(market), deployments_file=path
    )

    executor = project.BatchExecutor.at(result.record.address)
    assert result.created
    assert executor.vault() == result.record.vault
    assert executor.isKeeper(keeper) and not executor.isKeeper(owner)
    assert executor.adminDelay() == 2 * 86_400  # the default: later grants wait two days
    v2_pool = next(p.address for p in market.pools if p.dex == "uniswap-v2")
    usdc = market.token("USDC").address
    assert executor.isAllowedCall(v2_pool, selector(V2_PAIR_SWAP))
    assert executor.isAllowedCall(market.contracts["SwapRouter"], selector(V3_EXACT_INPUT_SINGLE))
    assert executor.isAllowedCall(usdc, selector(ERC20_APPROVE))
    assert executor.isAllowedCall(usdc, selector(ERC20_TRANSFER))
    # Nothing else: not a token's transferFrom, not a pool's LP-token functions.
    assert not executor.isAllowedCall(usdc, selector("transferFrom(address,address,uint256)"))
    assert not executor.isAllowedCall(v2_pool, selector(ERC20_TRANSFER))
    assert executor.isEntryPoint(v2_pool) and not executor.isEntryPoint(usdc)
    assert load_deployments(path, int(chain.chain_id)).executor == result.record


def test_redeploying_with_the_same_file_reuses_the_recorded_executor(owner, tmp_path, chain):
    path = tmp_path / "deployments.json"
    first = deploy(owner, deployments_file=path)
    again = deploy(owner, deployments_file=path)
    forced = deploy(owner, deployments_file=path, redeploy=True)

    assert (first.created, again.created, forced.created) == (True, False, True)
    assert again.record == first.record
    assert forced.record.address != first.record.address
    assert load_deployments(path).executor == forced.record


def test_a_recorded_executor_without_code_is_deployed_again(owner, tmp_path, chain):
    path = tmp_path / "deployments.json"
    snapshot = chain.snapshot()
    first = deploy(owner, deployments_file=path)
    chain.restore(snapshot)  # the chain forgot it, like a restarted local node

    second = deploy(owner, deployments_file=path)

    assert second.created and first.created
    assert load_deployments(path).executor == second.record


def test_a_deployer_that_is_not_the_owner_gives_the_executor_its_initial_keepers(
    owner, alice, keeper, project
):
    result = deploy(alice, owner=owner.address, keepers=[keeper.address], admin_delay=3_600)

    executor = project.BatchExecutor.at(result.record.address)
    assert executor.owner() == owner.address
    assert executor.isKeeper(keeper)
    assert executor.adminDelay() == 3_600


def test_an_admin_delay_above_the_contracts_ceiling_is_refused_before_deploying(owner):
    with pytest.raises(ExecutorDeploymentError, match="admin_delay: expected 0 to 2592000"):
        deploy(owner, admin_delay=30 * 86_400 + 1)


@pytest.mark.slow
def test_ape_run_deploy_prints_the_addresses_and_records_them(tmp_path):
    command = [
        str(ROOT / ".venv" / "bin" / "ape"),
        "run",
        "deploy",
        "--network",
        "ethereum:local:foundry",
        "--account",
        "TEST::0",
        "--deployments-dir",
        str(tmp_path),
    ]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-2000:]
    record = load_deployments(tmp_path / "31337.json").executor
    assert record is not None
    assert f"BatchExecutor {record.address} deployed" in done.stdout
    assert f"AllowanceVault {record.vault}" in done.stdout


def test_the_market_is_recorded_with_the_executor_and_a_reused_executor_takes_new_keepers(
    owner, keeper, alice, market, project, tmp_path, chain
):
    path = tmp_path / f"{chain.chain_id}.json"
    first = deploy(owner, deployments_file=path, market=market, admin_delay=0)
    assert load_deployments(path).market == market  # keeper run needs both

    again = deploy(owner, keepers=[keeper.address], deployments_file=path, market=market)

    assert not again.created and again.record == first.record
    assert project.BatchExecutor.at(first.record.address).isKeeper(keeper)
    with pytest.raises(ExecutorDeploymentError, match="only the executor's owner"):
        deploy(alice, keepers=[alice.address], deployments_file=path)


def test_a_reused_executor_with_an_admin_delay_schedules_a_new_keeper_and_applies_it_later(
    owner, keeper, market, project, tmp_path, chain
):
    path = tmp_path / f"{chain.chain_id}.json"
    first = deploy(owner, deployments_file=path, market=market)  # the default delay: two days
    executor = project.BatchExecutor.at(first.record.address)
    delay = int(executor.adminDelay())
    assert delay == DEFAULT_ADMIN_DELAY

    with pytest.raises(ExecutorDeploymentError, match=r"scheduled .*admin delay is 172800 s"):
        deploy(owner, keepers=[keeper.address], deployments_file=path)
    assert not executor.isKeeper(keeper)  # users can lock down during the delay
    with pytest.raises(ExecutorDeploymentError, match="scheduled"):
        deploy(owner, keepers=[keeper.address], deployments_file=path)  # still waiting

    chain.pending_timestamp += delay
    chain.mine()
    deploy(owner, keepers=[keeper.address], deployments_file=path)
    assert executor.isKeeper(keeper)
