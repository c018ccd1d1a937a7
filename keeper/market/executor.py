"""Deploy the batch executor: the pure function behind ``ape run deploy`` (tests call it too).

``deploy(account, ...)`` deploys ``BatchExecutor(owner, guardian)`` (which deploys its own
allowance vault), allow-lists the keepers and the interaction calls (by default
:func:`routing_calls`: exactly the (target, selector) pairs the keeper's routes call on the
market), and records the result in the chain's deployments file when one is given. Re-running
with the same file is idempotent: an executor recorded there that still has code is reused, not
redeployed, unless ``redeploy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from keeper.market.deployments import (
    Deployments,
    ExecutorRecord,
    Market,
    load_deployments,
    save_deployments,
)
from keeper.market.exceptions import ExecutorDeploymentError


@dataclass(frozen=True)
class Deployment:
    """The executor that is live on the chain, and whether this call created it."""

    record: ExecutorRecord
    created: bool


class AllowedCall(NamedTuple):
    """One entry of the executor's interaction allow-list: ``signature`` on ``target``."""

    target: str
    signature: str

    @property
    def selector(self) -> bytes:
        from keeper.routing.calldata import selector

        return selector(self.signature)


def routing_calls(market: Market) -> list[AllowedCall]:
    """The calls the keeper's routes make on ``market`` (keeper.routing.calldata): each V2
    pool's ``swap``, the V3 SwapRouter's ``exactInputSingle``, Router02's
    ``swapExactTokensForTokens``, and ``approve`` + ``transfer`` on each token (the executor
    lets those name only one of the pools or routers, and checks every approval is spent)."""
    from keeper.routing import calldata as c

    calls = [AllowedCall(p.address, c.V2_PAIR_SWAP) for p in market.pools if p.dex == "uniswap-v2"]
    calls.append(AllowedCall(market.contracts["SwapRouter"], c.V3_EXACT_INPUT_SINGLE))
    calls.append(AllowedCall(market.contracts["UniswapV2Router02"], c.V2_ROUTER_SWAP))
    for token in market.tokens:
        calls += [
            AllowedCall(token.address, c.ERC20_APPROVE),
            AllowedCall(token.address, c.ERC20_TRANSFER),
        ]
    return calls


def deploy(
    account: Any,
    *,
    owner: str | None = None,
    guardian: str | None = None,
    keepers: Sequence[str] = (),
    calls: Sequence[AllowedCall] = (),
    deployments_file: Path | None = None,
    redeploy: bool = False,
) -> Deployment:
    """Deploy (or reuse) the executor from ``account`` (an Ape account).

    ``owner`` and ``guardian`` default to ``account``. Keepers and calls can only be set here
    when ``account`` is the owner; otherwise the owner sets them later.
    """
    from ape import chain, project

    chain_id = int(chain.chain_id)
    record = (
        load_deployments(deployments_file, chain_id)
        if deployments_file
        else Deployments(chain_id=chain_id)
    )
    live = record.executor and len(chain.provider.get_code(record.executor.address)) > 0
    if record.executor and live and not redeploy:
        return Deployment(record.executor, created=False)
    owner_address = owner or account.address
    guardian_address = guardian or account.address
    if (keepers or calls) and owner_address != account.address:
        raise ExecutorDeploymentError(
            chain_id, "keepers/calls can only be set when the deploying account is the owner"
        )
    executor = account.deploy(project.BatchExecutor, owner_address, guardian_address)
    for keeper in keepers:
        executor.setKeeper(keeper, True, sender=account)
    for allowed in calls:
        executor.setCall(allowed.target, allowed.selector, True, sender=account)
    receipt = chain.provider.get_receipt(executor.txn_hash)
    executor_record = ExecutorRecord(
        address=executor.address,
        vault=executor.vault(),
        owner=owner_address,
        guardian=guardian_address,
        deployer=account.address,
        block_number=receipt.block_number,
        transaction_hash=receipt.txn_hash,
    )
    if deployments_file:
        updated = record.model_copy(update={"executor": executor_record})
        save_deployments(updated, deployments_file)
    return Deployment(executor_record, created=True)
