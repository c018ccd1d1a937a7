"""settle: every way an order is refused, each checked by its custom error."""

from __future__ import annotations

import ape
import pytest

from tests.contracts.helpers import MINT, allow, call, selector

E18 = 10**18
E6 = 10**6


@pytest.fixture
def deal(intents, owner, executor, alice, weth_like, usdc):
    """Alice sells 1 WETH for >= 3,000 USDC; an interaction mints the USDC (a stand-in swap)."""
    intents.fund(alice, weth_like, 2 * E18, allowance=E18)
    allow(executor, owner, usdc, MINT)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    mint = call(usdc, "mint", executor, 3_000 * E6)
    return intent, mint


def test_rejects_a_signature_from_someone_other_than_the_owner(
    intents, executor, keeper, bob, deal
):
    intent, mint = deal
    signature = intents.sign(intent.model_copy(update={"owner": bob.address}), bob)

    with ape.reverts(executor.InvalidSignature, owner=intent.owner):
        intents.settle([intents.order(intent, signature=signature)], [mint], sender=keeper)


SIGNED_FIELD_CHANGES = {
    "owner": lambda i, ctx: {"owner": ctx["bob"]},
    "keeper": lambda i, ctx: {"keeper": ctx["keeper"]},
    "nonce": lambda i, ctx: {"nonce": i.nonce + 1},
    "valid_after": lambda i, ctx: {"valid_after": 1},
    "deadline": lambda i, ctx: {"deadline": i.deadline + 1},
    "sells.amount": lambda i, ctx: {
        "sells": [i.sells[0].model_copy(update={"amount": i.sells[0].amount + 1})]
    },
    "sells.token": lambda i, ctx: {"sells": [i.sells[0].model_copy(update={"token": ctx["wbtc"]})]},
    "buys.amount": lambda i, ctx: {
        "buys": [i.buys[0].model_copy(update={"amount": i.buys[0].amount - 1})]
    },
    "buys.token": lambda i, ctx: {"buys": [i.buys[0].model_copy(update={"token": ctx["wbtc"]})]},
    "fee_token": lambda i, ctx: {"fee_token": ctx["wbtc"]},
    "max_fee": lambda i, ctx: {"max_fee": 1, "fee_token": i.sells[0].token},
}


@pytest.mark.parametrize("field", sorted(SIGNED_FIELD_CHANGES))
def test_rejects_an_intent_whose_signed_field_was_changed_after_signing(
    intents, executor, keeper, alice, bob, wbtc, deal, field
):
    intent, mint = deal
    signature = intents.sign(intent, alice)
    ctx = {"bob": bob.address, "keeper": keeper.address, "wbtc": wbtc.address}
    tampered = intent.model_copy(update=SIGNED_FIELD_CHANGES[field](intent, ctx))
    assert tampered != intent

    with ape.reverts(executor.InvalidSignature, owner=tampered.owner):
        intents.settle([intents.order(tampered, signature=signature)], [mint], sender=keeper)


def test_rejects_a_signature_made_for_another_chain_id(
    intents, executor, keeper, alice, deal, chain_id
):
    intent, mint = deal
    signature = intents.sign(intent, alice, chain_id=chain_id + 1)

    with ape.reverts(executor.InvalidSignature, owner=alice.address):
        intents.settle([intents.order(intent, signature=signature)], [mint], sender=keeper)


def test_an_intent_signed_for_another_executor_does_not_verify_here(
    project, intents, executor, owner, guardian, keeper, alice, deal
):
    # The packed order does not carry the executor: the digest is computed with this
    # executor's address, so a signature over another executor's intent recovers someone else.
    intent, mint = deal
    other = owner.deploy(project.BatchExecutor, owner, guardian, 0, [], [])
    elsewhere = intent.model_copy(update={"executor": other.address})

    with ape.reverts(executor.InvalidSignature, owner=alice.address):
        intents.settle([intents.order(elsewhere, alice)], [mint], sender=keeper)
    intents.settle([intents.order(intent, alice)], [mint], sender=keeper)


def test_rejects_a_nonce_that_already_settled(intents, executor, keeper, alice, deal):
    intent, mint = deal
    order = intents.order(intent, alice)
    intents.settle([order], [mint], sender=keeper)

    with ape.reverts(executor.NonceAlreadyUsed, owner=alice.address, nonce=intent.nonce):
        intents.settle([order], [mint], sender=keeper)


def test_rejects_the_same_nonce_twice_in_one_batch(intents, executor, keeper, alice, deal):
    intent, _ = deal
    half = intent.model_copy(
        update={"sells": [intent.sells[0].model_copy(update={"amount": E18 // 2})], "buys": []}
    )
    order = intents.order(half, alice)

    with ape.reverts(executor.NonceAlreadyUsed, owner=alice.address, nonce=0):
        intents.settle([order, order], sender=keeper)


def test_rejects_a_nonce_the_owner_cancelled(intents, executor, keeper, alice, deal):
    intent, mint = deal
    executor.invalidateNonces(0, 1 << intent.nonce, sender=alice)

    with ape.reverts(executor.NonceAlreadyUsed, owner=alice.address, nonce=intent.nonce):
        intents.settle([intents.order(intent, alice)], [mint], sender=keeper)


def test_rejects_an_intent_after_its_deadline(intents, executor, keeper, alice, deal):
    intent, mint = deal
    expired = intent.model_copy(update={"deadline": intents.now() - 1})

    with ape.reverts(executor.IntentExpired, deadline=expired.deadline):
        intents.settle([intents.order(expired, alice)], [mint], sender=keeper)


def test_rejects_an_intent_before_its_start_time(intents, executor, keeper, alice, deal):
    intent, mint = deal
    early = intent.model_copy(update={"valid_after": intents.now() + 600})

    with ape.reverts(executor.IntentNotYetValid, validAfter=early.valid_after):
        intents.settle([intents.order(early, alice)], [mint], sender=keeper)


def test_rejects_a_keeper_other_than_the_designated_one(
    intents, executor, owner, keeper, alice, bob, deal
):
    intent, mint = deal
    executor.setKeeper(bob, True, sender=owner)
    designated = intent.model_copy(update={"keeper": keeper.address})

    with ape.reverts(executor.WrongKeeper, designated=keeper.address, caller=bob.address):
        intents.settle([intents.order(designated, alice)], [mint], sender=bob)
    intents.settle([intents.order(designated, alice)], [mint], sender=keeper)


def test_rejects_a_caller_that_is_not_an_allow_listed_keeper(
    intents, executor, attacker, alice, deal
):
    intent, mint = deal

    with ape.reverts(executor.NotKeeper, caller=attacker.address):
        intents.settle([intents.order(intent, alice)], [mint], sender=attacker)


def test_rejects_taking_more_than_the_signed_maximum(
    intents, executor, keeper, alice, weth_like, deal
):
    intent, mint = deal
    order = intents.order(intent, alice, sell_amounts=[E18 + 1])

    with ape.reverts(
        executor.SellAboveMaximum, token=weth_like.address, amount=E18 + 1, maximum=E18
    ):
        intents.settle([order], [mint], sender=keeper)


def test_rejects_taking_more_than_the_vault_allowance(
    intents, executor, vault, keeper, alice, weth_like, deal
):
    intent, mint = deal
    vault.approve(weth_like, E18 // 2, 2**40, sender=alice)

    with ape.reverts(
        executor.AllowanceExceeded,
        owner=alice.address,
        token=weth_like.address,
        requested=E18,
        available=E18 // 2,
    ):
        intents.settle([intents.order(intent, alice)], [mint], sender=keeper)


def test_rejects_a_pull_after_the_allowance_expired(
    intents, executor, vault, keeper, alice, weth_like, deal
):
    intent, mint = deal
    expiration = intents.now() - 1
    vault.approve(weth_like, E18, expiration, sender=alice)

    with ape.reverts(
        executor.AllowanceExpired,
        owner=alice.address,
        token=weth_like.address,
        expiration=expiration,
    ):
        intents.settle([intents.order(intent, alice)], [mint], sender=keeper)


def test_rejects_delivering_less_than_the_signed_minimum(
    intents, executor, keeper, alice, usdc, deal
):
    intent, _ = deal
    order = intents.order(intent, alice, buy_amounts=[2_999 * E6])
    short_mint = call(usdc, "mint", executor, 2_999 * E6)

    with ape.reverts(
        executor.BuyBelowMinimum, token=usdc.address, received=2_999 * E6, minimum=3_000 * E6
    ):
        intents.settle([order], [short_mint], sender=keeper)


def test_rejects_a_fee_above_the_signed_cap(intents, executor, keeper, alice, weth_like, deal):
    intent, mint = deal
    capped = intent.model_copy(update={"fee_token": weth_like.address, "max_fee": 10**15})
    order = intents.order(capped, alice, sell_amounts=[E18], fee=10**15 + 1)

    with ape.reverts(executor.FeeAboveCap, fee=10**15 + 1, maxFee=10**15):
        intents.settle([order], [mint], sender=keeper)


def test_rejects_settlement_while_paused(intents, executor, guardian, keeper, alice, deal):
    intent, mint = deal
    executor.pause(sender=guardian)

    with ape.reverts(executor.EnforcedPause):
        intents.settle([intents.order(intent, alice)], [mint], sender=keeper)


def test_rejects_a_batch_that_spends_tokens_the_executor_held_before(
    intents, executor, keeper, alice, usdc, deal
):
    intent, _ = deal
    usdc.mint(executor, 3_000 * E6, sender=keeper)  # e.g. sent by mistake, or earlier surplus

    with ape.reverts(
        executor.TokenDeficit, token=usdc.address, balanceBefore=3_000 * E6, balanceAfter=0
    ):
        intents.settle([intents.order(intent, alice)], sender=keeper)


def test_rejects_a_deficit_in_a_token_the_ledger_tracked_before_it_grew(
    project, intents, executor, owner, keeper, alice
):
    # Nine tokens: the ledger (room for eight) grows while tracking the last one, and must carry
    # the first token's starting balance over.
    sold = [owner.deploy(project.TestToken, f"T{i}", f"T{i}", 18) for i in range(9)]
    for token in sold:
        intents.fund(alice, token, E18)
    first = sold[0]
    first.mint(executor, E18, sender=owner)  # held before: a batch may never spend it
    # Alice sells 1 of the first token and gets 2 back: her balance grows by 1 (her minimum),
    # the extra 1 comes from the executor's earlier balance.
    intent = intents.intent(alice, sells=[(t, E18) for t in sold], buys=[(first, E18)])
    order = intents.order(intent, alice, buy_amounts=[2 * E18])

    with ape.reverts(executor.TokenDeficit, token=first.address, balanceBefore=E18, balanceAfter=0):
        intents.settle([order], sender=keeper)


def test_rejects_an_interaction_with_a_target_not_on_the_allow_list(
    intents, executor, keeper, alice, wbtc, deal
):
    intent, _ = deal

    with ape.reverts(executor.CallNotAllowed, target=wbtc.address, selector=selector(MINT)):
        intents.settle(
            [intents.order(intent, alice)], [call(wbtc, "mint", executor, 1)], sender=keeper
        )


def test_reports_the_index_and_target_of_a_failing_interaction(
    intents, executor, owner, keeper, alice, usdc, deal
):
    intent, mint = deal
    allow(executor, owner, usdc, "transfer(address,uint256)")
    broken = call(usdc, "transfer", usdc, 10**30)  # more than the executor holds

    with ape.reverts(executor.InteractionFailed, index=1, target=usdc.address):
        intents.settle([intents.order(intent, alice)], [mint, broken], sender=keeper)
