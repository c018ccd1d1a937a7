"""Deploy the batch executor: the pure function behind ``ape run deploy`` (tests call it too).

``deploy(account, ...)`` deploys ``BatchExecutor(owner, guardian)`` (which deploys its own
allowance vault), allow-lists the keepers and the interaction targets (by default the market's
two routers and its tokens, which interactions ``approve``), and records the result in the
chain's deployments file when one is given. Re-running with the same file is idempotent: an
executor recorded there that still has code is reused, not redeployed, unless ``redeploy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def default_targets(market: Market) -> list[str]:
    """Interaction targets a keeper routing through ``market`` needs: routers and tokens."""
    routers = [market.contracts["UniswapV2Router02"], market.contracts["SwapRouter"]]
    return routers + [token.address for token in market.tokens]


def deploy(
    account: Any,
    *,
    owner: str | None = None,
    guardian: str | None = None,
    keepers: Sequence[str] = (),
    targets: Sequence[str] = (),
    deployments_file: Path | None = None,
    redeploy: bool = False,
    market: Market | None = None,
) -> Deployment:
    """Deploy (or reuse) the executor from ``account`` (an Ape account).

    ``owner`` and ``guardian`` default to ``account``. Keepers and targets can only be set here
    when ``account`` is the owner; otherwise the owner sets them later. ``keepers`` are
    allow-listed on a reused executor too (those not yet listed). ``market`` (the market
    seeded on this chain) is recorded with the executor, as ``keeper run`` needs both.
    """
    from ape import chain

    from keeper.chain.project import repo_project

    project = repo_project()
    chain_id = int(chain.chain_id)
    record = (
        load_deployments(deployments_file, chain_id)
        if deployments_file
        else Deployments(chain_id=chain_id)
    )
    live = record.executor and len(chain.provider.get_code(record.executor.address)) > 0
    if market is not None and record.market is None and deployments_file:
        record = record.model_copy(update={"market": market})
        save_deployments(record, deployments_file)
    if record.executor and live and not redeploy:
        _allow_keepers(account, record.executor, keepers, chain_id)
        return Deployment(record.executor, created=False)
    owner_address = owner or account.address
    guardian_address = guardian or account.address
    if (keepers or targets) and owner_address != account.address:
        raise ExecutorDeploymentError(
            chain_id, "keepers/targets can only be set when the deploying account is the owner"
        )
    executor = account.deploy(project.BatchExecutor, owner_address, guardian_address)
    for keeper in keepers:
        executor.setKeeper(keeper, True, sender=account)
    for target in targets:
        executor.setTarget(target, True, sender=account)
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


def _allow_keepers(
    account: Any, executor: ExecutorRecord, keepers: Sequence[str], chain_id: int
) -> None:
    """Allow-list ``keepers`` on an executor that is already deployed (owner only)."""
    from keeper.chain.project import repo_project

    contract = repo_project().BatchExecutor.at(executor.address)
    missing = [k for k in keepers if not contract.isKeeper(k)]
    if missing and str(contract.owner()).lower() != str(account.address).lower():
        raise ExecutorDeploymentError(
            chain_id,
            f"--keeper: only the executor's owner {contract.owner()} can allow-list keepers",
        )
    for keeper in missing:
        contract.setKeeper(keeper, True, sender=account)
