"""Adversarial review of the packed settle path: parsing, direct legs, whole-batch buy
measurement, salted buy claims across settle calls, the hand-written event buffer, ERC-1271
signatures sliced from calldata, and checkOrder against settle.

Each test holds one guarantee of docs/INTENTS.md against a keeper that is trusted with nothing
beyond the signed limits: it passes while the guarantee holds and fails if it breaks."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from keeper.intents.signing import intent_digest
from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.settlement.abi import encode_order, encode_orders
from tests.contracts.helpers import FAR_FUTURE, MAX_UINT160, MAX_UINT256, MINT, allow, call

E18 = 10**18
E6 = 10**6
HEADER = 224  # packed order header (PackedOrders.HEADER_SIZE)
SELL, BUY = 87, 84  # packed leg sizes


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def _recount(order: bytes, sells: int, buys: int, sig_length: int) -> bytes:
    """A packed order (no batch count) with its sell count, buy count and signature length
    rewritten, every other byte kept."""
    counts = bytes((sells, buys)) + sig_length.to_bytes(2, "big")
    return order[:220] + counts + order[HEADER:]


def _batch(*orders: bytes) -> bytes:
    return len(orders).to_bytes(2, "big") + b"".join(orders)


@pytest.fixture
def review_swap(owner, executor, weth_like, usdc):
    """WETH and USDC allow-listed as targets, so an interaction can mint (a stand-in swap)."""
    allow(executor, owner, usdc, MINT)
    allow(executor, owner, weth_like, MINT)
    return weth_like, usdc


# -- parsing ----------------------------------------------------------------------------------


def test_an_order_cut_short_is_refused_though_the_interactions_bytes_follow_it(
    intents, executor, keeper, alice, review_swap
):
    weth, usdc = review_swap
    intents.fund(alice, weth, E18)
    intent = intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 3_000 * E6)])
    packed = encode_orders([intents.order(intent, alice)])
    # The missing last byte is present in calldata right after `orders` (the interaction's
    # bytes), so a reader that trusted the order's own lengths would find it there.
    mint = call(usdc, "mint", executor, 3_000 * E6)

    with ape.reverts(executor.MalformedOrders, index=0):
        intents.settle_raw(packed[:-1], [mint], sender=keeper)
    assert weth.balanceOf(alice) == E18


def test_a_count_above_the_orders_present_names_the_first_missing_order(
    intents, executor, keeper, alice, weth_like
):
    intents.fund(alice, weth_like, E18)
    order = encode_order(intents.order(intents.intent(alice, sells=[(weth_like, E18)]), alice))

    with ape.reverts(executor.MalformedOrders, index=1):
        intents.settle_raw((2).to_bytes(2, "big") + order, sender=keeper)
    with ape.reverts(executor.MalformedOrders, index=1):  # one byte after the last order
        intents.settle_raw(_batch(order) + b"\x00", sender=keeper)
    for missing_count in (b"", b"\x01"):
        with ape.reverts(executor.MalformedOrders, index=0):
            intents.settle_raw(missing_count, sender=keeper)
    assert weth_like.balanceOf(alice) == E18


def test_a_signature_length_that_swallows_a_sell_leg_does_not_verify(
    intents, executor, keeper, alice, weth_like
):
    intents.fund(alice, weth_like, E18)
    order = encode_order(intents.order(intents.intent(alice, sells=[(weth_like, E18)]), alice))
    # Same bytes, but read as a sell-less intent whose signature runs over the sell leg: the
    # signature slice and the hashed legs can never share bytes.
    swallowed = _recount(order, sells=0, buys=0, sig_length=65 + SELL)

    with ape.reverts(executor.InvalidSignature, owner=alice.address):
        intents.settle_raw(_batch(swallowed), sender=keeper)
    assert weth_like.balanceOf(alice) == E18


def test_dropping_a_signed_leg_from_the_packed_order_breaks_the_signature(
    intents, executor, keeper, alice, review_swap
):
    weth, usdc = review_swap
    intents.fund(alice, weth, E18)
    intent = intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 3_000 * E6)])
    order = encode_order(intents.order(intent, alice))
    # Without the buy leg the keeper would owe Alice nothing for her WETH.
    no_buy = _recount(order, sells=1, buys=0, sig_length=65)[:-BUY]

    with ape.reverts(executor.InvalidSignature, owner=alice.address):
        intents.settle_raw(_batch(no_buy), sender=keeper)
    assert weth.balanceOf(alice) == E18


def test_a_packed_owner_swapped_for_the_victim_does_not_verify(
    intents, executor, keeper, attacker, bob, weth_like
):
    intents.fund(bob, weth_like, E18)
    own = intents.intent(attacker, sells=[(weth_like, E18)])
    order = encode_order(intents.order(own, attacker))
    as_bob = bytes.fromhex(bob.address[2:]) + order[20:]

    with ape.reverts(executor.InvalidSignature, owner=bob.address):
        intents.settle_raw(_batch(as_bob), sender=keeper)
    assert weth_like.balanceOf(bob) == E18


# -- direct legs ------------------------------------------------------------------------------


@pytest.fixture
def review_victim(intents, alice, keeper, review_swap):
    """Alice sells <= 1 WETH for >= 3,000 USDC (vault allowance 1 WETH); the keeper signed an
    intent of its own buying WETH (minimum 0), a recipient a direct leg could name."""
    weth, usdc = review_swap
    intents.fund(alice, weth, 2 * E18, allowance=E18)
    victim = intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 3_000 * E6)])
    sink = intents.intent(keeper, buys=[(weth, 0)])
    return victim, intents.order(sink, keeper)


@pytest.mark.parametrize(
    ("to", "error_args"),
    [((2, 0), (2, 0)), ((0xFFFE, 0), (0xFFFE, 0)), ((1, 1), (1, 1)), ((0, 0), (0, 0))],
    ids=["order-past-the-batch", "order-0xfffe", "leg-past-the-order", "leg-in-another-token"],
)
def test_a_direct_leg_must_name_a_buy_leg_of_the_batch_in_the_sold_token(
    intents, executor, keeper, alice, review_victim, to, error_args
):
    victim, sink = review_victim
    order = intents.order(victim, alice, sell_to=[to])  # order 0's own buy leg is USDC

    with ape.reverts(executor.InvalidRecipient, toOrder=error_args[0], toLeg=error_args[1]):
        intents.settle([order, sink], sender=keeper)


def test_a_direct_leg_to_the_keepers_own_order_stays_within_the_sellers_limits(
    intents, executor, keeper, alice, review_victim, review_swap
):
    weth, usdc = review_swap
    victim, sink = review_victim

    over = intents.order(victim, alice, sell_amounts=[E18 + 1], sell_to=[(1, 0)])
    with ape.reverts(executor.SellAboveMaximum, token=weth.address, amount=E18 + 1, maximum=E18):
        intents.settle([over, sink], [call(usdc, "mint", executor, 3_000 * E6)], sender=keeper)
    # At the maximum but paying nothing: her USDC growth over the batch is 0.
    unpaid = intents.order(victim, alice, buy_amounts=[0], sell_to=[(1, 0)])
    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=0, minimum=3_000 * E6):
        intents.settle([unpaid, sink], sender=keeper)
    assert weth.balanceOf(alice) == 2 * E18
    assert weth.balanceOf(keeper) == 0


def test_a_direct_leg_spends_the_sellers_vault_allowance(
    intents, executor, vault, keeper, alice, review_swap
):
    weth, usdc = review_swap
    intents.fund(alice, weth, 2 * E18, allowance=E18 // 2)
    victim = intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 0)])
    sink = intents.order(intents.intent(keeper, buys=[(weth, 0)]), keeper)

    # The vault's error, bubbled: the executor shares its error definitions.
    with ape.reverts(
        executor.AllowanceExceeded,
        owner=alice.address,
        token=weth.address,
        requested=E18,
        available=E18 // 2,
    ):
        intents.settle([intents.order(victim, alice, sell_to=[(1, 0)]), sink], sender=keeper)
    assert weth.balanceOf(alice) == 2 * E18


def test_a_sellers_direct_leg_to_its_own_buy_leg_counts_for_nothing(
    intents, executor, keeper, alice, weth_like
):
    intents.fund(alice, weth_like, E18)
    sell = intents.intent(alice, sells=[(weth_like, E18)], nonce=0)
    buy = intents.intent(alice, buys=[(weth_like, E18)], nonce=1)
    orders = [
        intents.order(sell, alice, sell_to=[(1, 0)]),
        intents.order(buy, alice, buy_amounts=[0]),
    ]

    # Her own WETH going round does not pay her own buy: the growth is 0.
    with ape.reverts(executor.BuyBelowMinimum, token=weth_like.address, received=0, minimum=E18):
        intents.settle(orders, sender=keeper)


def test_a_direct_leg_cannot_let_the_executor_pay_the_rest_from_a_balance_it_held(
    intents, executor, owner, keeper, alice, bob, review_swap
):
    weth, usdc = review_swap
    usdc.mint(executor, 1_000 * E6, sender=owner)  # at rest before the batch
    intents.fund(alice, weth, E18)
    intents.fund(bob, usdc, 2_000 * E6)
    alice_intent = intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 3_000 * E6)])
    bob_intent = intents.intent(bob, sells=[(usdc, 2_000 * E6)], buys=[(weth, E18)])
    orders = [
        intents.order(alice_intent, alice, buy_amounts=[1_000 * E6], sell_to=[(1, 0)]),
        intents.order(bob_intent, bob, buy_amounts=[0], sell_to=[(0, 0)]),
    ]

    # Bob's 2,000 go straight to Alice; the last 1,000 would come out of the stray balance.
    with ape.reverts(
        executor.TokenDeficit, token=usdc.address, balanceBefore=1_000 * E6, balanceAfter=0
    ):
        intents.settle(orders, sender=keeper)
    intents.settle(orders, [call(usdc, "mint", executor, 1_000 * E6)], sender=keeper)
    assert usdc.balanceOf(alice) == 3_000 * E6
    assert usdc.balanceOf(executor) == 1_000 * E6


def test_two_owners_may_buy_the_same_token_in_one_batch(
    intents, executor, keeper, alice, bob, review_swap
):
    weth, usdc = review_swap
    intents.fund(alice, weth, E18)
    intents.fund(bob, weth, E18)
    orders = [
        intents.order(intents.intent(user, sells=[(weth, E18)], buys=[(usdc, 1_000 * E6)]), user)
        for user in (alice, bob)
    ]

    intents.settle(orders, [call(usdc, "mint", executor, 2_000 * E6)], sender=keeper)
    assert (usdc.balanceOf(alice), usdc.balanceOf(bob)) == (1_000 * E6, 1_000 * E6)


def test_a_buy_leg_in_a_token_without_code_reverts_the_batch(
    intents, executor, keeper, alice, attacker, weth_like
):
    intents.fund(alice, weth_like, E18)
    # A delivery is measured by balanceOf around it; an address with no code gives no answer, so
    # no measurement at all. (A leg with minimum 0 and nothing delivered needs none: it settles.)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(attacker.address, 1)])

    with ape.reverts():
        intents.settle([intents.order(intent, alice)], sender=keeper)
    assert weth_like.balanceOf(alice) == E18


@pytest.mark.parametrize("who", ["executor", "vault"])
def test_neither_the_executor_nor_the_vault_can_be_an_order_owner_or_direct_recipient(
    intents, executor, vault, keeper, alice, weth_like, who
):
    # A direct leg pays an order's owner: an order owned by the executor or the vault (contracts
    # without ERC-1271) would let a keeper route a seller's tokens into them.
    contract = executor if who == "executor" else vault
    intents.fund(alice, weth_like, E18)
    seller = intents.intent(alice, sells=[(weth_like, E18)], nonce=0)
    sink = RebalanceIntent(
        owner=contract.address,
        executor=executor.address,
        nonce=0,
        deadline=intents.now() + 600,
        buys=[TokenAmount(token=weth_like.address, amount=0)],
    )
    orders = [
        intents.order(seller, alice, sell_to=[(1, 0)]),
        intents.order(sink, signature=b"\x00" * 65, buy_amounts=[0]),
    ]

    with ape.reverts(executor.InvalidSignature, owner=contract.address):
        intents.settle(orders, sender=keeper)
    assert weth_like.balanceOf(alice) == E18


# -- one transaction, two settle calls ------------------------------------------------------


@pytest.fixture
def double_settle(project, owner, executor):
    """A keeper contract calling settle twice in one transaction (contracts/test/DoubleSettle.sol);
    its ABI carries the executor's errors so that reverts bubbled through it decode by name."""
    contract = owner.deploy(project.DoubleSettle)
    executor.setKeeper(contract, True, sender=owner)
    return contract


def _settle_input(executor, orders, interactions=()) -> bytes:
    return bytes(
        executor.settle.encode_input(encode_orders(orders), [i.as_abi() for i in interactions])
    )


def test_buy_claims_of_one_settle_call_do_not_block_the_next_in_the_transaction(
    intents, executor, keeper, alice, review_swap, double_settle
):
    weth, usdc = review_swap
    intents.fund(alice, weth, 2 * E18)
    first, second = (
        intents.order(
            intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 1_000 * E6)], nonce=n), alice
        )
        for n in (0, 1)
    )
    mint = call(usdc, "mint", executor, 1_000 * E6)

    double_settle.run(
        executor,
        _settle_input(executor, [first], [mint]),
        _settle_input(executor, [second], [mint]),
        sender=keeper,
    )
    assert usdc.balanceOf(alice) == 2_000 * E6
    assert executor.isNonceUsed(alice, 0) and executor.isNonceUsed(alice, 1)


def test_a_second_settle_call_measures_only_its_own_growth(
    intents, executor, keeper, alice, review_swap, double_settle
):
    weth, usdc = review_swap
    intents.fund(alice, weth, 2 * E18)
    first = intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 1_000 * E6)], nonce=0)
    second = intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 1_000 * E6)], nonce=1)

    # The first call over-delivers; the second delivers nothing and must not be credited.
    with ape.reverts(
        double_settle.BuyBelowMinimum, token=usdc.address, received=0, minimum=1_000 * E6
    ):
        double_settle.run(
            executor,
            _settle_input(
                executor,
                [intents.order(first, alice, buy_amounts=[2_000 * E6])],
                [call(usdc, "mint", executor, 2_000 * E6)],
            ),
            _settle_input(executor, [intents.order(second, alice, buy_amounts=[0])]),
            sender=keeper,
        )
    assert weth.balanceOf(alice) == 2 * E18


def test_one_nonce_cannot_settle_in_two_settle_calls_of_one_transaction(
    intents, executor, keeper, alice, review_swap, double_settle
):
    weth, usdc = review_swap
    intents.fund(alice, weth, 2 * E18)
    order = intents.order(
        intents.intent(alice, sells=[(weth, E18)], buys=[(usdc, 1_000 * E6)], nonce=5), alice
    )
    settle = _settle_input(executor, [order], [call(usdc, "mint", executor, 1_000 * E6)])

    with ape.reverts(double_settle.NonceAlreadyUsed, owner=alice.address, nonce=5):
        double_settle.run(executor, settle, settle, sender=keeper)
    assert weth.balanceOf(alice) == 2 * E18


# -- the event buffer, `before` indexing and the ledger's growth ------------------------------


def test_a_large_mixed_batch_logs_each_orders_own_amounts_and_moves_exactly_them(
    project, intents, executor, owner, keeper, alice, bob, carol
):
    t = [owner.deploy(project.TestToken, f"T{i}", f"T{i}", 18) for i in range(10)]
    fot = owner.deploy(project.FeeOnTransferToken, "FOT", "FOT", 1_000)  # 10% on transfer
    for token in (*t, fot):
        allow(executor, owner, token, MINT)
    for i, amount in ((0, 100), (1, 200), (2, 300)):
        intents.fund(alice, t[i], amount)
    intents.fund(bob, t[4], 400)
    intents.fund(carol, t[9], 900)

    a = intents.intent(
        alice,
        sells=[(t[0], 100), (t[1], 200), (t[2], 300)],
        buys=[(t[3], 10), (fot, 900)],
        fee_token=t[0].address,
        max_fee=5,
    )
    b = intents.intent(bob, sells=[(t[4], 400)], buys=[(t[5], 50), (t[6], 1), (t[7], 0), (t[8], 8)])
    c = intents.intent(
        carol,
        sells=[(t[9], 900)],
        buys=[(t[4], 400), (t[0], 90)],
        fee_token=t[9].address,
        max_fee=3,
    )
    orders = [
        intents.order(a, alice, buy_amounts=[15, 1_000], fee=5),
        intents.order(b, bob, buy_amounts=[50, 7, 0, 9], sell_to=[(2, 0)]),
        intents.order(c, carol, buy_amounts=[0, 95], fee=3),
    ]
    mints = [
        call(t[3], "mint", executor, 15),
        call(fot, "mint", executor, 1_000),
        call(t[5], "mint", executor, 50),
        call(t[6], "mint", executor, 7),
        call(t[8], "mint", executor, 9),
    ]

    receipt = intents.settle(orders, mints, sender=keeper)

    logged = [
        (log.owner, log.nonce, list(log.sold), list(log.received), log.fee)
        for log in receipt.decode_logs(executor.IntentSettled)
    ]
    assert logged == [
        (alice.address, 0, [100, 200, 300], [15, 900], 5),
        (bob.address, 0, [400], [50, 7, 0, 9], 0),
        (carol.address, 0, [900], [400, 95], 3),
    ]
    [settlement] = receipt.decode_logs(executor.Settlement)
    assert (settlement.keeper, settlement.orders, settlement.interactions) == (keeper.address, 3, 5)
    holdings = {
        alice: [(t[0], 0), (t[1], 0), (t[2], 0), (t[3], 15), (fot, 900)],
        bob: [(t[4], 0), (t[5], 50), (t[6], 7), (t[7], 0), (t[8], 9)],
        carol: [(t[9], 0), (t[4], 400), (t[0], 95)],
        keeper: [(t[0], 5), (t[9], 3)],
        executor: [(t[0], 0), (t[1], 200), (t[2], 300), (t[9], 897), (fot, 0), (t[4], 0)],
    }
    for account, expected in holdings.items():
        assert [token.balanceOf(account) for token, _ in expected] == [v for _, v in expected]


# -- ERC-1271 ---------------------------------------------------------------------------------


def test_a_contract_wallet_settles_a_coincidence_of_wants_by_direct_legs(
    project, intents, executor, vault, owner, keeper, alice, bob, chain_id, review_swap
):
    weth, usdc = review_swap
    wallet = owner.deploy(project.TestSmartWallet, alice)
    weth.mint(wallet, E18, sender=owner)
    wallet.execute(weth, weth.approve.encode_input(vault, MAX_UINT256), sender=alice)
    wallet.execute(vault, vault.approve.encode_input(weth, MAX_UINT160, FAR_FUTURE), sender=alice)
    intents.fund(bob, usdc, 3_000 * E6)
    wallet_intent = RebalanceIntent(
        owner=wallet.address,
        executor=executor.address,
        nonce=0,
        deadline=intents.now() + 600,
        sells=[TokenAmount(token=weth.address, amount=E18)],
        buys=[TokenAmount(token=usdc.address, amount=3_000 * E6)],
    )
    # The wallet checks exactly 65 bytes: a slice running into the legs would be refused.
    signature = alice.sign_raw_msghash(intent_digest(wallet_intent, chain_id)).encode_rsv()
    bob_intent = intents.intent(bob, sells=[(usdc, 3_000 * E6)], buys=[(weth, E18)])
    orders = [
        intents.order(wallet_intent, signature=signature, buy_amounts=[0], sell_to=[(1, 0)]),
        intents.order(bob_intent, bob, buy_amounts=[0], sell_to=[(0, 0)]),
    ]

    wallet.setAccepting(False, sender=alice)
    with ape.reverts(executor.InvalidSignature, owner=wallet.address):
        intents.settle(orders, sender=keeper)
    wallet.setAccepting(True, sender=alice)
    intents.settle(orders, sender=keeper)

    assert (weth.balanceOf(wallet), usdc.balanceOf(wallet)) == (0, 3_000 * E6)
    assert (weth.balanceOf(bob), usdc.balanceOf(bob)) == (E18, 0)


# -- checkOrder against settle ----------------------------------------------------------------


def test_check_order_and_settle_refuse_a_tampered_fee_cap_alike(
    intents, executor, keeper, alice, weth_like
):
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)], fee_token=weth_like.address, max_fee=1)
    order = encode_order(intents.order(intent, alice, fee=1))
    raised = order[:156] + (10**18).to_bytes(32, "big") + order[188:]  # maxFee, signed

    assert bytes(executor.checkOrder(order, keeper)) == b"\x00" * 4
    assert bytes(executor.checkOrder(raised, keeper)) == _selector("InvalidSignature(address)")
    with ape.reverts(executor.InvalidSignature, owner=alice.address):
        intents.settle_raw(_batch(raised), sender=keeper)
    over = order[:188] + (2).to_bytes(32, "big") + order[220:]  # fee, not signed, capped
    assert bytes(executor.checkOrder(over, keeper)) == _selector("FeeAboveCap(uint256,uint256)")
    with ape.reverts(executor.FeeAboveCap, fee=2, maxFee=1):
        intents.settle_raw(_batch(over), sender=keeper)


def test_check_order_and_settle_both_accept_an_intent_that_buys_one_token_in_two_legs(
    intents, executor, keeper, alice, review_swap
):
    # Each leg counts only its own delivery, so two legs in one token cannot share one (this
    # was refused as DuplicateBuy while buys were measured over the whole batch).
    weth, usdc = review_swap
    intents.fund(alice, weth, E18)
    intent = intents.intent(
        alice, sells=[(weth, E18)], buys=[(usdc, 1_000 * E6), (usdc, 1_000 * E6)]
    )
    order = intents.order(intent, alice)

    assert bytes(executor.checkOrder(encode_order(order), keeper)) == bytes(4)
    intents.settle([order], [call(usdc, "mint", executor, 2_000 * E6)], sender=keeper)
    assert usdc.balanceOf(alice) == 2_000 * E6
