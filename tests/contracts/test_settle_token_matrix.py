"""settle against each token behaviour: 18/6/8 decimals, no-return-bool (USDT-like), and a
fee-on-transfer token (1%)."""

from __future__ import annotations

import ape
import pytest

FEE_BPS = 100
KINDS = ["18-decimals", "6-decimals", "8-decimals", "no-return-bool", "fee-on-transfer"]


@pytest.fixture(params=KINDS)
def odd_token(request, project, owner):
    kind = request.param
    if kind == "no-return-bool":
        token = owner.deploy(project.NoReturnToken, "Tether-like", "USDT", 6)
    elif kind == "fee-on-transfer":
        token = owner.deploy(project.FeeOnTransferToken, "Fee", "FEE", FEE_BPS)
    else:
        decimals = int(kind.split("-")[0])
        token = owner.deploy(project.TestToken, kind, "T", decimals)
    fee_bps = FEE_BPS if kind == "fee-on-transfer" else 0
    unit = 10 ** (6 if kind == "no-return-bool" else 18 if fee_bps else int(kind.split("-")[0]))
    return token, fee_bps, unit


def _after_fee(amount: int, fee_bps: int) -> int:
    return amount - amount * fee_bps // 10_000


def test_users_trade_each_token_kind_against_each_other_with_exact_accounting(
    intents, executor, vault, keeper, alice, bob, usdc, odd_token
):
    token, fee_bps, unit = odd_token
    sold = 1_000 * unit
    intents.fund(alice, token, sold, allowance=2 * sold)
    intents.fund(bob, usdc, 500 * 10**6)
    reaches_executor = _after_fee(sold, fee_bps)
    reaches_bob = _after_fee(reaches_executor, fee_bps)
    alice_intent = intents.intent(alice, sells=[(token, sold)], buys=[(usdc, 500 * 10**6)])
    bob_intent = intents.intent(bob, sells=[(usdc, 500 * 10**6)], buys=[(token, reaches_bob)])

    receipt = intents.settle(
        [
            intents.order(alice_intent, alice),
            intents.order(bob_intent, bob, buy_amounts=[reaches_executor]),
        ],
        sender=keeper,
    )

    assert token.balanceOf(alice) == 0
    assert token.balanceOf(bob) == reaches_bob
    assert usdc.balanceOf(alice) == 500 * 10**6
    assert token.balanceOf(executor) == 0
    assert vault.allowance(alice, token).amount == sold
    received = [list(e.received) for e in receipt.decode_logs(executor.IntentSettled)]
    assert received == [[500 * 10**6], [reaches_bob]]


def test_a_fee_on_transfer_token_cannot_short_the_buyer_below_the_signed_minimum(
    project, intents, executor, keeper, owner, alice, bob, usdc
):
    token = owner.deploy(project.FeeOnTransferToken, "Fee", "FEE", FEE_BPS)
    sold = 1_000 * 10**18
    intents.fund(alice, token, sold)
    intents.fund(bob, usdc, 500 * 10**6)
    reaches_executor = _after_fee(sold, FEE_BPS)
    alice_intent = intents.intent(alice, sells=[(token, sold)], buys=[(usdc, 500 * 10**6)])
    # Bob asks for what the executor holds; the transfer fee makes him receive 1% less.
    bob_intent = intents.intent(bob, sells=[(usdc, 500 * 10**6)], buys=[(token, reaches_executor)])

    with ape.reverts(
        executor.BuyBelowMinimum,
        token=token.address,
        received=_after_fee(reaches_executor, FEE_BPS),
        minimum=reaches_executor,
    ):
        intents.settle(
            [intents.order(alice_intent, alice), intents.order(bob_intent, bob)], sender=keeper
        )
