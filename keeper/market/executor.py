"""Deploy the batch executor: the pure function behind ``ape run deploy`` (tests call it too).

``deploy(account, ...)`` deploys ``BatchExecutor(owner, guardian, adminDelay, keepers, calls)``
(which deploys its own allowance vault). The keepers and the interaction calls (by default
:func:`keeper.routing.calldata.routing_calls`: exactly the (target, selector) pairs the keeper's
routes call on the market) are set by the constructor, so they need no admin delay; any later
grant waits ``admin_delay`` seconds (docs/SECURITY.md). The result is recorded in the chain's
deployments file when one is given. Re-running with the same file is idempotent: an executor
recorded there that still has code is reused, not redeployed, unless ``redeploy``.
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


#: Seconds a later grant (keeper, allowed call) waits after being scheduled, by default: two
#: days for users to see it and lock down. 0 (a fully trusted owner) only on a dev node.
DEFAULT_ADMIN_DELAY = 2 * 86_400


class AllowedCall(NamedTuple):
    """One entry of the executor's interaction allow-list: ``signature`` on ``target``."""

    target: str
    signature: str

    @property
    def selector(self) -> bytes:
        from eth_utils import keccak

        return keccak(text=self.signature)[:4]

    def as_abi(self) -> tuple[str, bytes]:
        """The executor's ``AllowedCall`` struct."""
        return (self.target, self.selector)


def deploy(
    account: Any,
    *,
    owner: str | None = None,
    guardian: str | None = None,
    keepers: Sequence[str] = (),
    calls: Sequence[AllowedCall] = (),
    admin_delay: int = DEFAULT_ADMIN_DELAY,
    deployments_file: Path | None = None,
    redeploy: bool = False,
    market: Market | None = None,
) -> Deployment:
    """Deploy (or reuse) the executor from ``account`` (an Ape account).

    ``owner`` and ``guardian`` default to ``account``. ``keepers`` and ``calls`` are the
    executor's initial keepers and allow-list (set by its constructor, without delay).
    ``admin_delay`` 0 is refused unless the node is a development node (anvil). On a reused
    executor, ``keepers`` not yet listed are allow-listed by its owner: at once when its admin
    delay is 0, else scheduled (and applied by a later run once the delay has passed).
    ``market`` (the market seeded on this chain) is recorded with the executor, as
    ``keeper run`` needs both.
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
    if not 0 <= admin_delay <= MAX_ADMIN_DELAY:
        raise ExecutorDeploymentError(
            chain_id, f"admin_delay: expected 0 to {MAX_ADMIN_DELAY} seconds, got {admin_delay}"
        )
    if admin_delay == 0 and not _is_dev_node(chain):
        raise ExecutorDeploymentError(
            chain_id,
            "admin_delay: 0 makes the owner fully trusted (new keepers and calls at once); "
            "expected a delay in seconds on this chain, e.g. 172800 (two days)",
        )
    executor = account.deploy(
        project.BatchExecutor,
        owner_address,
        guardian_address,
        admin_delay,
        list(keepers),
        [allowed.as_abi() for allowed in calls],
    )
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


#: BatchExecutor.MAX_ADMIN_DELAY
MAX_ADMIN_DELAY = 30 * 86_400


def _is_dev_node(chain: Any) -> bool:
    """Whether the connected node is a development node (anvil), where nothing is at stake."""
    return str(chain.provider.web3.client_version).lower().startswith("anvil")


def _allow_keepers(
    account: Any, executor: ExecutorRecord, keepers: Sequence[str], chain_id: int
) -> None:
    """Allow-list ``keepers`` on an executor that is already deployed (owner only): applied at
    once when the executor's admin delay is 0 or a schedule is ready, else scheduled, and a
    one-line error says when a later run can apply it (users may lock down meanwhile)."""
    from ape import chain

    from keeper.chain.project import repo_project

    contract = repo_project().BatchExecutor.at(executor.address)
    missing = [k for k in keepers if not contract.isKeeper(k)]
    if missing and str(contract.owner()).lower() != str(account.address).lower():
        raise ExecutorDeploymentError(
            chain_id,
            f"--keeper: only the executor's owner {contract.owner()} can allow-list keepers",
        )
    delay = int(contract.adminDelay())
    waiting = []
    for keeper in missing:
        if delay == 0:
            contract.setKeeper(keeper, True, sender=account)
            continue
        ready_at = int(contract.changeReadyAt(contract.keeperChange(keeper)))
        if ready_at == 0:
            contract.scheduleKeeper(keeper, sender=account)
            ready_at = int(contract.changeReadyAt(contract.keeperChange(keeper)))
        if ready_at <= int(chain.blocks.head.timestamp):
            contract.setKeeper(keeper, True, sender=account)
        else:
            waiting.append((keeper, ready_at))
    if waiting:
        from datetime import UTC, datetime

        names = ", ".join(
            f"{k} (from {datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M} UTC)" for k, t in waiting
        )
        raise ExecutorDeploymentError(
            chain_id,
            f"--keeper: scheduled {names}; the executor's admin delay is {delay} s, so run the "
            "deploy again after that time to apply it",
        )
