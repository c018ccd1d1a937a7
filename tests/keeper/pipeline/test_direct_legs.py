"""Direct legs: sell legs a buyer of the batch takes whole go straight to it, the executor's
net flow per token unchanged; and one owner's intents never share a measured balance."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.intents.types import DirectLeg, RebalanceIntent, TokenAmount
from keeper.intents.validation import SignedIntent
from keeper.settlement.direct import OrderFlows, assign_direct_legs
from keeper.settlement.plan import Candidate
from tests.keeper.pipeline.test_planner_fee_pull import _head
from tests.keeper.pipeline.test_planner_prices import E18, USDC, WETH, _fees, _planner

E6 = 10**6
ALICE, BOB, CAROL = ("0x" + c * 20 for c in ("a1", "b0", "c0"))
T, U = "0x" + "11" * 20, "0x" + "22" * 20


def flows(owner, sells=(), buys=()):
    return OrderFlows(owner=owner, sells=list(sells), buys=list(buys))


def test_an_exact_coincidence_of_wants_goes_direct_both_ways():
    result = assign_direct_legs(
        [
            flows(ALICE, sells=[(T, 10)], buys=[(U, 30)]),
            flows(BOB, sells=[(U, 30)], buys=[(T, 10)]),
        ]
    )
    assert result.sell_to == [[DirectLeg(order=1, leg=0)], [DirectLeg(order=0, leg=0)]]
    assert result.buy_amounts == [[0], [0]]
    assert result.direct_count == 2


def test_a_sell_leg_larger_than_any_buyers_delivery_stays_with_the_executor():
    result = assign_direct_legs(
        [flows(ALICE, sells=[(T, 5)]), flows(BOB, buys=[(T, 3)]), flows(CAROL, buys=[(T, 4)])]
    )
    assert result.sell_to[0] == [None]
    assert result.buy_amounts == [[], [3], [4]]


def test_largest_sells_first_each_to_the_buyer_it_fits_best():
    # T: sells 4, 2, 1; buyers of 3 then 6. The 4 only fits the buyer of 6 (2 left), the 2 then
    # fits that one exactly, the 1 goes to the buyer of 3. Alice's other leg (9 of V) matches
    # Bob's buy.
    v = "0x" + "33" * 20
    result = assign_direct_legs(
        [
            flows(ALICE, sells=[(T, 1), (v, 9)]),
            flows(BOB, sells=[(T, 2)], buys=[(v, 9)]),
            flows(CAROL, sells=[(T, 4)]),
            flows("0x" + "d0" * 20, buys=[(T, 3)]),
            flows("0x" + "e0" * 20, buys=[(T, 6)]),
        ]
    )
    assert result.sell_to[2] == [DirectLeg(order=4, leg=0)]
    assert result.sell_to[1] == [DirectLeg(order=4, leg=0)]
    assert result.sell_to[0] == [DirectLeg(order=3, leg=0), DirectLeg(order=1, leg=0)]
    assert result.buy_amounts == [[], [0], [], [2], [0]]


def test_an_exact_fit_wins_over_an_earlier_buyer_with_more_room():
    # First fit would send the 3 to the buyer of 5 (2 left, both deliveries still made by the
    # executor); best fit covers the buyer of 3 whole, saving its transfer.
    result = assign_direct_legs(
        [flows(ALICE, sells=[(T, 3)]), flows(BOB, buys=[(T, 5)]), flows(CAROL, buys=[(T, 3)])]
    )
    assert result.sell_to[0] == [DirectLeg(order=2, leg=0)]
    assert result.buy_amounts == [[], [5], [0]]


def test_a_leg_carrying_the_keeper_fee_stays_routed_through_the_executor():
    orders = [flows(ALICE, sells=[(T, 10)]), flows(BOB, buys=[(T, 50)])]
    assert assign_direct_legs(orders).sell_to[0] == [DirectLeg(order=1, leg=0)]
    routed = assign_direct_legs(orders, routed={(0, 0)})
    assert routed.sell_to[0] == [None] and routed.buy_amounts[1] == [50]


def test_a_leg_never_goes_to_its_own_owner_nor_is_a_zero_leg_made_direct():
    same_owner = assign_direct_legs([flows(ALICE, sells=[(T, 1)]), flows(ALICE, buys=[(T, 5)])])
    assert same_owner.sell_to[0] == [None]
    zero = assign_direct_legs([flows(ALICE, sells=[(T, 0)]), flows(BOB, buys=[(T, 5)])])
    assert zero.sell_to[0] == [None] and zero.buy_amounts[1] == [5]


TOKENS = st.sampled_from([T, U, "0x" + "33" * 20])
OWNERS = st.sampled_from([ALICE, BOB, CAROL])
LEGS = st.lists(st.tuples(TOKENS, st.integers(min_value=0, max_value=100)), max_size=3)
BATCHES = st.lists(st.builds(flows, OWNERS, LEGS, LEGS), max_size=8)


def executor_net(orders, sell_to, buy_amounts):
    """Per token: what the executor receives minus what it delivers."""
    net: dict[str, int] = defaultdict(int)
    for n, order in enumerate(orders):
        for j, (token, amount) in enumerate(order.sells):
            if sell_to[n][j] is None:
                net[token] += amount
        for j, (token, _) in enumerate(order.buys):
            net[token] -= buy_amounts[n][j]
    return {t: v for t, v in net.items() if v}


@settings(max_examples=300, deadline=None)
@given(orders=BATCHES, data=st.data())
def test_the_executors_net_flow_per_token_is_unchanged_and_every_owner_gets_the_same(orders, data):
    candidates = [(n, j) for n, o in enumerate(orders) for j in range(len(o.sells))]
    routed = (
        set(data.draw(st.lists(st.sampled_from(candidates), unique=True))) if candidates else set()
    )
    result = assign_direct_legs(orders, routed)
    before = executor_net(
        orders, [[None] * len(o.sells) for o in orders], [[a for _, a in o.buys] for o in orders]
    )
    assert executor_net(orders, result.sell_to, result.buy_amounts) == before
    received = [[0] * len(o.buys) for o in orders]  # direct amounts per buy leg
    for n, order in enumerate(orders):
        for j, to in enumerate(result.sell_to[n]):
            if to is None:
                continue
            token, amount = order.sells[j]
            assert (n, j) not in routed and amount > 0
            assert to.order != n and orders[to.order].owner != order.owner
            assert orders[to.order].buys[to.leg][0] == token
            received[to.order][to.leg] += amount
    for n, order in enumerate(orders):
        for j, (_, amount) in enumerate(order.buys):
            assert 0 <= result.buy_amounts[n][j] == amount - received[n][j]


# -- one measured balance per owner and token --------------------------------------------------


def intent(owner, sells, buys, nonce=1):
    return RebalanceIntent(
        owner=owner,
        executor="0x" + "ee" * 20,
        nonce=nonce,
        deadline=10**10,
        sells=[TokenAmount(token=t, amount=a) for t, a in sells],
        buys=[TokenAmount(token=t, amount=a) for t, a in buys],
    )


def candidate(intent_id, owner, sells, buys, nonce=1):
    signed = SignedIntent(intent=intent(owner, sells, buys, nonce), signature=b"\x01" * 65)
    return Candidate(intent_id, signed, 0)


def test_the_planner_plans_an_owners_two_buys_of_a_token_together_without_a_direct_leg_between():
    # each buy leg is credited with its own delivery on-chain: nothing to defer
    batch = [
        candidate("a1", ALICE, [(WETH, E18)], [(USDC, 1)]),
        candidate("b", BOB, [(USDC, 5_000 * E6)], [(WETH, 1)]),
        candidate("a2", ALICE, [(WETH, E18)], [(USDC, 1)], nonce=2),
        candidate("a3", ALICE, [(USDC, 100 * E6)], [(WETH, 1)], nonce=3),
    ]
    plan = _planner(USDC).plan(batch, _head(), _fees(10))
    assert plan.settlement is not None, plan.dropped
    assert plan.settlement.intent_ids == ("a1", "b", "a2", "a3")
    assert plan.deferred == [] and plan.dropped == {}
    orders = plan.settlement.orders
    for k, order in enumerate(orders):  # a direct leg never joins two orders of one owner
        for leg in order.execution.sell_to:
            assert leg is None or orders[leg.order].intent.owner != order.intent.owner, (k, leg)


def test_the_planner_sends_a_sell_a_buyer_takes_whole_straight_to_it():
    # Alice's 1 WETH is less than the ~2 WETH Bob buys: it goes to Bob directly, the executor
    # delivers him the rest; Bob's 5,000 USDC exceed what Alice gets: routed
    batch = [
        candidate("a", ALICE, [(WETH, E18)], [(USDC, 1)]),
        candidate("b", BOB, [(USDC, 5_000 * E6)], [(WETH, 1)]),
    ]
    with_direct = _planner(USDC).plan(batch, _head(), _fees(10)).settlement
    routed = _planner(USDC, direct_legs=False).plan(batch, _head(), _fees(10)).settlement
    assert with_direct is not None and routed is not None
    alice, bob = with_direct.orders
    assert alice.execution.sell_to == (DirectLeg(order=1, leg=0),)
    assert bob.execution.sell_to == ()
    assert bob.execution.buy_amounts[0] == with_direct.quoted["b"][0] - E18 > 0
    # the owners are quoted the same in all, the executor swaps the same
    assert with_direct.quoted == routed.quoted
    assert with_direct.interactions == routed.interactions
    assert [o.execution.sell_amounts for o in with_direct.orders] == [
        o.execution.sell_amounts for o in routed.orders
    ]
