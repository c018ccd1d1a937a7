"""The admin delay (audit finding 4): whatever widens what a settlement can do — a new keeper, a
new allow-listed call — waits ``adminDelay`` seconds after it is scheduled, in public, so users
can ``lockdown`` before it applies. What narrows it (removing a keeper or a call, pausing,
cancelling a scheduled change) applies at once. The initial keepers and calls are given to the
constructor, before anyone can have approved the vault. And a keeper cannot spend what rests in
the executor, so an owner that made itself keeper after the delay still could not sweep it."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from tests.contracts.helpers import MINT, ROUTED_TOKEN, allow, call, raw_call, selector

DELAY = 3_600
E6 = 10**6
E18 = 10**18


@pytest.fixture
def delayed(project, owner, guardian, keeper, usdc):
    """An executor with a one-hour admin delay, a keeper and USDC's mint allowed from the start."""
    return owner.deploy(
        project.BatchExecutor, owner, guardian, DELAY, [keeper], [(usdc, selector(MINT))]
    )


def _wait(chain, seconds: int) -> None:
    chain.pending_timestamp += seconds
    chain.mine()


def test_the_constructor_applies_the_initial_keepers_and_calls_at_once(delayed, keeper, usdc):
    assert delayed.adminDelay() == DELAY
    assert delayed.isKeeper(keeper)
    assert delayed.isAllowedCall(usdc, selector(MINT))
    assert delayed.isEntryPoint(usdc)


def test_a_new_keeper_applies_only_after_the_delay(chain, delayed, owner, attacker):
    with ape.reverts(delayed.ChangeNotScheduled, id=delayed.keeperChange(attacker)):
        delayed.setKeeper(attacker, True, sender=owner)

    receipt = delayed.scheduleKeeper(attacker, sender=owner)
    [event] = receipt.decode_logs(delayed.KeeperScheduled)
    ready = event.readyAt
    assert (event.account, ready) == (attacker.address, chain.blocks.head.timestamp + DELAY)
    with ape.reverts(delayed.ChangeNotReady, id=delayed.keeperChange(attacker), readyAt=ready):
        delayed.setKeeper(attacker, True, sender=owner)

    _wait(chain, DELAY)
    delayed.setKeeper(attacker, True, sender=owner)
    assert delayed.isKeeper(attacker)

    # A schedule is used up: once removed, the keeper needs a new one (and a new delay).
    delayed.setKeeper(attacker, False, sender=owner)
    with ape.reverts(delayed.ChangeNotScheduled):
        delayed.setKeeper(attacker, True, sender=owner)


def test_a_new_allow_listed_call_applies_only_after_the_delay(chain, delayed, owner, weth_like):
    transfer_from = selector("transferFrom(address,address,uint256)")
    change = delayed.callChange(weth_like, transfer_from)
    with ape.reverts(delayed.ChangeNotScheduled, id=change):
        delayed.setCall(weth_like, transfer_from, True, sender=owner)

    receipt = delayed.scheduleCall(weth_like, transfer_from, sender=owner)
    [event] = receipt.decode_logs(delayed.CallScheduled)
    assert (event.target, bytes(event.selector)) == (weth_like.address, transfer_from)
    _wait(chain, DELAY - 5)
    with ape.reverts(delayed.ChangeNotReady, id=change):
        delayed.setCall(weth_like, transfer_from, True, sender=owner)

    _wait(chain, 5)
    delayed.setCall(weth_like, transfer_from, True, sender=owner)
    assert delayed.isAllowedCall(weth_like, transfer_from)


def test_users_see_the_change_coming_and_lock_down_before_it_applies(
    chain, intents, delayed, owner, attacker, alice, weth_like
):
    # The owner schedules itself (or anyone) as keeper; Alice sees KeeperScheduled and locks
    # down her vault allowances within the delay: nothing of hers can move after that.
    vault = ape.project.AllowanceVault.at(delayed.vault())
    weth_like.mint(alice, E18, sender=alice)
    weth_like.approve(vault, E18, sender=alice)
    vault.approve(weth_like, E18, 2**40, sender=alice)
    delayed.scheduleKeeper(attacker, sender=owner)

    vault.lockdown([weth_like], sender=alice)

    _wait(chain, DELAY)
    delayed.setKeeper(attacker, True, sender=owner)
    assert vault.allowance(alice, weth_like).amount == 0


def test_removals_pause_and_cancellation_apply_at_once(delayed, owner, guardian, keeper, usdc):
    delayed.setKeeper(keeper, False, sender=owner)
    delayed.setCall(usdc, selector(MINT), False, sender=owner)
    delayed.pause(sender=guardian)

    assert not delayed.isKeeper(keeper)
    assert not delayed.isAllowedCall(usdc, selector(MINT))
    assert delayed.paused()

    delayed.scheduleKeeper(keeper, sender=owner)
    receipt = delayed.cancel(delayed.keeperChange(keeper), sender=owner)
    assert [e.id for e in receipt.decode_logs(delayed.ChangeCancelled)] == [
        delayed.keeperChange(keeper)
    ]
    assert delayed.changeReadyAt(delayed.keeperChange(keeper)) == 0


def test_only_the_owner_schedules_and_cancels(delayed, owner, attacker, usdc):
    with ape.reverts(delayed.OwnableUnauthorizedAccount, account=attacker.address):
        delayed.scheduleKeeper(attacker, sender=attacker)
    with ape.reverts(delayed.OwnableUnauthorizedAccount, account=attacker.address):
        delayed.scheduleCall(usdc, selector(MINT), sender=attacker)
    delayed.scheduleKeeper(attacker, sender=owner)
    with ape.reverts(delayed.OwnableUnauthorizedAccount, account=attacker.address):
        delayed.cancel(delayed.keeperChange(attacker), sender=attacker)


def test_a_change_cannot_be_scheduled_twice_or_for_a_forbidden_target(delayed, owner, attacker):
    delayed.scheduleKeeper(attacker, sender=owner)
    with ape.reverts(delayed.ChangeAlreadyScheduled, id=delayed.keeperChange(attacker)):
        delayed.scheduleKeeper(attacker, sender=owner)
    with ape.reverts(delayed.ForbiddenTarget, target=delayed.vault()):
        delayed.scheduleCall(delayed.vault(), selector(MINT), sender=owner)


def test_the_delay_has_a_ceiling(project, owner, guardian):
    too_long = 30 * 86_400 + 1
    with ape.reverts():
        owner.deploy(project.BatchExecutor, owner, guardian, too_long, [], [])


def test_change_ids_are_the_hash_of_what_changes(delayed, attacker, usdc):
    assert bytes(delayed.keeperChange(attacker)) == keccak(
        b"keeper" + bytes.fromhex(attacker.address[2:])
    )
    assert bytes(delayed.callChange(usdc, selector(MINT))) == keccak(
        b"call" + bytes.fromhex(usdc.address[2:]) + selector(MINT)
    )


# --- at-rest balances -------------------------------------------------------------------------


@pytest.fixture
def weth_usdc_pair(owner, executor, uniswap_v2, weth_like, usdc):
    """The WETH/USDC V2 pair and both tokens allow-listed as the keeper's deployment does."""
    _, factory = uniswap_v2
    pair = factory.getPair(weth_like, usdc)
    allow(executor, owner, pair, "swap(uint256,uint256,address,bytes)")
    for token in (weth_like, usdc):
        allow(executor, owner, token, *ROUTED_TOKEN)
    return pair


def test_a_keeper_cannot_route_an_at_rest_balance_out_through_an_allow_listed_pool(
    intents, executor, owner, keeper, weth_like, usdc, weth_usdc_pair
):
    # 1 WETH rests in the executor (a batch's leftover). A batch with no orders sends it into
    # the pool and takes the USDC out to the keeper: nothing a user signed is involved.
    weth_like.mint(executor, E18, sender=owner)
    weth_is_token0 = int(weth_like.address, 16) < int(usdc.address, 16)
    out = (0, 2_900 * E6) if weth_is_token0 else (2_900 * E6, 0)
    sweep = [
        call(weth_like, "transfer", weth_usdc_pair, E18),
        raw_call(
            weth_usdc_pair,
            "swap(uint256,uint256,address,bytes)",
            ["uint256", "uint256", "address", "bytes"],
            [*out, keeper.address, b""],
        ),
    ]

    with ape.reverts(
        executor.TokenDeficit, token=weth_like.address, balanceBefore=E18, balanceAfter=0
    ):
        intents.settle([], sweep, sender=keeper)
    assert weth_like.balanceOf(executor) == E18


def test_a_token_that_only_passes_through_the_interactions_is_not_a_deficit(
    intents, executor, owner, keeper, alice, uniswap_v2, weth_like, usdc, wbtc
):
    # Alice sells WBTC for USDC through two pools: WETH comes out of the first and goes into
    # the second. No order touches WETH, and 1 WETH rests in the executor untouched.
    router, factory = uniswap_v2
    pairs = [factory.getPair(wbtc, weth_like), factory.getPair(weth_like, usdc)]
    for pair in pairs:
        allow(executor, owner, pair, "swap(uint256,uint256,address,bytes)")
    for token in (wbtc, weth_like):
        allow(executor, owner, token, *ROUTED_TOKEN)
    weth_like.mint(executor, E18, sender=owner)
    intents.fund(alice, wbtc, 10**8)
    weth_out, usdc_out = router.getAmountsOut(10**8, [wbtc, weth_like, usdc])[1:]
    intent = intents.intent(alice, sells=[(wbtc, 10**8)], buys=[(usdc, usdc_out)])

    def swap(pair, token_in, token_out, amount_in, amount_out):
        first = int(token_out.address, 16) < int(token_in.address, 16)
        out = (amount_out, 0) if first else (0, amount_out)
        return [
            call(token_in, "transfer", pair, amount_in),
            raw_call(
                pair,
                "swap(uint256,uint256,address,bytes)",
                ["uint256", "uint256", "address", "bytes"],
                [*out, executor.address, b""],
            ),
        ]

    hops = swap(pairs[0], wbtc, weth_like, 10**8, weth_out)
    hops += swap(pairs[1], weth_like, usdc, weth_out, usdc_out)
    intents.settle([intents.order(intent, alice)], hops, sender=keeper)

    assert usdc.balanceOf(alice) == usdc_out
    assert weth_like.balanceOf(executor) == E18
