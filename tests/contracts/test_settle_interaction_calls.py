"""settle: what an interaction may call on an allow-listed target. Calls that spend an allowance
someone granted the executor are refused whatever the function is named, and the executor only
approves allow-listed spenders (an approval outlives the batch and its no-deficit check)."""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from keeper.intents.types import Interaction
from tests.contracts.helpers import MAX_UINT256, call

E6 = 10**6


def _raw(target, signature: str, types: list[str], args: list) -> Interaction:
    """An Interaction with hand-encoded calldata (for functions the target's ABI lacks)."""
    data = keccak(text=signature)[:4] + encode(types, args)
    return Interaction(target=target.address, value=0, call_data=data)


@pytest.fixture
def surplus(owner, executor, usdc):
    """1,000 USDC at rest in the executor (a batch's leftover surplus), USDC allow-listed."""
    usdc.mint(executor, 1_000 * E6, sender=owner)
    executor.setTarget(usdc, True, sender=owner)
    return 1_000 * E6


@pytest.mark.parametrize(
    ("signature", "selector"),
    [("approve(address,uint256)", "095ea7b3"), ("increaseAllowance(address,uint256)", "39509351")],
)
def test_an_interaction_cannot_grant_an_allowance_to_a_spender_that_is_not_an_allow_listed_target(
    intents, executor, keeper, attacker, usdc, surplus, signature, selector
):
    # The balance does not move during the batch, so the no-deficit check would pass; the
    # allowance would let the spender take the executor's tokens later, even after the owner
    # removed the keeper that granted it.
    grant = _raw(usdc, signature, ["address", "uint256"], [attacker.address, MAX_UINT256])

    with ape.reverts(executor.SpenderNotAllowed, target=usdc.address, spender=attacker.address):
        intents.settle([], [grant], sender=keeper)

    assert usdc.allowance(executor, attacker) == 0
    with ape.reverts():
        usdc.transferFrom(executor, attacker, surplus, sender=attacker)
    assert usdc.balanceOf(executor) == surplus
    assert bytes.fromhex(selector) == keccak(text=signature)[:4]


def test_an_interaction_may_approve_an_allow_listed_target(
    project, intents, executor, owner, keeper, usdc, surplus
):
    spender = owner.deploy(project.CallForwarder)
    executor.setTarget(spender, True, sender=owner)

    intents.settle([], [call(usdc, "approve", spender, surplus)], sender=keeper)

    assert usdc.allowance(executor, spender) == surplus


@pytest.fixture
def shares(project, owner, executor, alice, usdc):
    """An allow-listed ERC-4626 vault over USDC in which Alice holds 1,000 USDC of shares."""
    yield_vault = owner.deploy(project.ERC4626Vault, usdc, "vUSDC", "vUSDC")
    usdc.mint(alice, 1_000 * E6, sender=alice)
    usdc.approve(yield_vault, 1_000 * E6, sender=alice)
    yield_vault.deposit(1_000 * E6, alice, sender=alice)
    executor.setTarget(yield_vault, True, sender=owner)
    return yield_vault


@pytest.mark.parametrize("method", ["redeem", "withdraw"])
def test_an_interaction_cannot_spend_erc4626_shares_a_user_wrongly_approved_to_the_executor(
    intents, executor, keeper, alice, usdc, shares, method
):
    # ERC-4626 withdraw/redeem(amount, receiver, owner) spend the owner's share allowance to the
    # caller, like transferFrom does: with the executor as caller, Alice's mistaken approval.
    shares.approve(executor, MAX_UINT256, sender=alice)
    held = shares.balanceOf(alice)
    steal = call(shares, method, held if method == "redeem" else 1_000 * E6, keeper, alice)

    with ape.reverts(
        executor.ForbiddenSelector,
        target=shares.address,
        selector=keccak(text=f"{method}(uint256,address,address)")[:4],
    ):
        intents.settle([], [steal], sender=keeper)

    assert shares.balanceOf(alice) == held
    assert usdc.balanceOf(keeper) == 0


def test_the_executor_may_deposit_into_and_redeem_from_an_allow_listed_erc4626_vault(
    intents, executor, keeper, usdc, surplus, shares
):
    deposit = [
        call(usdc, "approve", shares, surplus),
        call(shares, "deposit", surplus, executor),
    ]
    intents.settle([], deposit, sender=keeper)
    held = shares.balanceOf(executor)
    assert held > 0 and usdc.balanceOf(executor) == 0

    intents.settle([], [call(shares, "redeem", held, executor, executor)], sender=keeper)

    assert shares.balanceOf(executor) == 0
    assert usdc.balanceOf(executor) == surplus


@pytest.mark.parametrize(
    ("signature", "types", "args"),
    [
        # MCD DAI's aliases of transferFrom
        ("pull(address,uint256)", ["address", "uint256"], ["alice", 1]),
        ("move(address,address,uint256)", ["address", "address", "uint256"], ["alice", "k", 1]),
        # ERC20Burnable: destroys the owner's tokens out of the caller's allowance
        ("burnFrom(address,uint256)", ["address", "uint256"], ["alice", 1]),
        # Permit2's allowance transfers (single and batch)
        (
            "transferFrom(address,address,uint160,address)",
            ["address", "address", "uint160", "address"],
            ["alice", "k", 1, "t"],
        ),
        (
            "transferFrom((address,address,uint160,address)[])",
            ["(address,address,uint160,address)[]"],
            [[("alice", "k", 1, "t")]],
        ),
    ],
    ids=["dai-pull", "dai-move", "burnFrom", "permit2-transferFrom", "permit2-batch"],
)
def test_an_interaction_cannot_call_other_functions_that_spend_an_allowance_to_the_executor(
    intents, executor, owner, keeper, alice, usdc, signature, types, args
):
    names = {"alice": alice.address, "k": keeper.address, "t": usdc.address}

    def resolve(value):
        if isinstance(value, str):
            return names[value]
        if isinstance(value, (list, tuple)):
            return type(value)(resolve(v) for v in value)
        return value

    executor.setTarget(usdc, True, sender=owner)
    spend = _raw(usdc, signature, types, [resolve(a) for a in args])

    with ape.reverts(
        executor.ForbiddenSelector, target=usdc.address, selector=keccak(text=signature)[:4]
    ):
        intents.settle([], [spend], sender=keeper)
