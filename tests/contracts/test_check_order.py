"""checkOrder: the keeper's pre-validation view (status = the selector settle would revert with)."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from keeper.settlement.abi import encode_order
from tests.contracts.helpers import MINT, allow, call

E18 = 10**18
E6 = 10**6
OK = b"\x00" * 4


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


@pytest.fixture
def order(intents, alice, weth_like, usdc):
    intents.fund(alice, weth_like, E18, allowance=E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    return intents.order(intent, alice)


def check(executor, order, keeper) -> bytes:
    return bytes(executor.checkOrder(encode_order(order), keeper))


def test_a_valid_order_checks_clean(executor, keeper, order):
    assert check(executor, order, keeper) == OK


def test_reports_the_reason_an_order_would_fail(
    intents, executor, vault, guardian, keeper, alice, bob, weth_like, order
):
    intent = order.intent
    cases = [
        (
            intents.order(intent.model_copy(update={"deadline": intents.now() - 1}), alice),
            "IntentExpired(uint256)",
        ),
        (
            intents.order(intent.model_copy(update={"valid_after": intents.now() + 99}), alice),
            "IntentNotYetValid(uint256)",
        ),
        (
            intents.order(intent.model_copy(update={"keeper": bob.address}), alice),
            "WrongKeeper(address,address)",
        ),
        (
            # signed for another executor: the digest here uses this executor's address
            intents.order(intent.model_copy(update={"executor": bob.address}), alice),
            "InvalidSignature(address)",
        ),
        (
            intents.order(intent, signature=intents.sign(intent, alice, 7)),
            "InvalidSignature(address)",
        ),
        (
            intents.order(intent, alice, sell_amounts=[E18 + 1]),
            "SellAboveMaximum(address,uint256,uint256)",
        ),
        (intents.order(intent, alice, fee=1), "FeeAboveCap(uint256,uint256)"),
    ]
    for bad, error in cases:
        assert check(executor, bad, keeper) == selector(error), error


def test_an_intent_signed_for_another_executor_does_not_verify_here(
    project, intents, executor, owner, guardian, keeper, alice, order
):
    other = owner.deploy(project.BatchExecutor, owner, guardian, 0, [], [])
    other.setKeeper(keeper, True, sender=owner)
    # Taking nothing, so that the other executor's vault (no allowance there) is not consulted.
    elsewhere = intents.order(
        order.intent.model_copy(update={"executor": other.address}), alice, sell_amounts=[0]
    )

    assert check(executor, elsewhere, keeper) == selector("InvalidSignature(address)")
    assert check(other, elsewhere, keeper) == OK


def test_buy_amounts_below_the_minimum_check_ok_as_only_settle_can_measure_what_arrives(
    intents, executor, owner, keeper, alice, usdc, order
):
    # Direct legs of other orders may make up the rest, so checkOrder cannot judge buy amounts.
    short = intents.order(order.intent, alice, buy_amounts=[1])
    assert check(executor, short, keeper) == OK

    allow(executor, owner, usdc, MINT)
    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=1, minimum=3_000 * E6):
        intents.settle([short], [call(usdc, "mint", executor, 1)], sender=keeper)


@pytest.mark.parametrize("cut", ["last-byte-missing", "one-trailing-byte"])
def test_an_order_that_does_not_fill_its_bytes_exactly_is_refused(executor, keeper, order, cut):
    packed = encode_order(order)
    data = packed[:-1] if cut == "last-byte-missing" else packed + b"\x00"

    with ape.reverts(executor.MalformedOrders, index=0):
        executor.checkOrder(data, keeper)


def test_reports_allowance_balance_and_approval_shortfalls(
    intents, executor, vault, keeper, alice, weth_like, order
):
    vault.approve(weth_like, E18 - 1, 2**40, sender=alice)
    assert check(executor, order, keeper) == selector(
        "AllowanceExceeded(address,address,uint256,uint256)"
    )
    vault.approve(weth_like, E18, intents.now() - 1, sender=alice)
    assert check(executor, order, keeper) == selector("AllowanceExpired(address,address,uint256)")
    vault.approve(weth_like, E18, 2**40, sender=alice)
    weth_like.transfer(vault, 1, sender=alice)
    assert check(executor, order, keeper) == selector("OwnerBalanceTooLow(address,uint256,uint256)")
    weth_like.mint(alice, 1, sender=alice)
    weth_like.approve(vault, E18 - 1, sender=alice)
    assert check(executor, order, keeper) == selector(
        "VaultApprovalTooLow(address,uint256,uint256)"
    )


def test_reports_used_nonces_unknown_keepers_and_pause(
    executor, guardian, keeper, attacker, alice, order
):
    assert check(executor, order, attacker) == selector("NotKeeper(address)")
    executor.invalidateNonces(0, 1, sender=alice)
    assert check(executor, order, keeper) == selector("NonceAlreadyUsed(address,uint256)")
    executor.pause(sender=guardian)
    assert check(executor, order, keeper) == selector("EnforcedPause()")


def test_dropping_the_order_check_order_flags_lets_the_rest_of_the_batch_settle(
    intents, executor, owner, keeper, alice, bob, weth_like, usdc, order
):
    # Bob's order is cancelled; the keeper checks each order, drops his and settles Alice's.
    intents.fund(bob, weth_like, E18)
    bob_order = intents.order(
        intents.intent(bob, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)]), bob
    )
    executor.invalidateNonces(0, 1, sender=bob)
    allow(executor, owner, usdc, MINT)
    mint = call(usdc, "mint", executor, 3_000 * E6)

    statuses = [check(executor, o, keeper) for o in (order, bob_order)]
    assert statuses == [OK, selector("NonceAlreadyUsed(address,uint256)")]
    survivors = [o for o, s in zip((order, bob_order), statuses, strict=True) if s == OK]
    intents.settle(survivors, [mint], sender=keeper)

    assert usdc.balanceOf(alice) == 3_000 * E6
    assert weth_like.balanceOf(bob) == E18
