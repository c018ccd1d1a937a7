"""settle: interactions may call only allow-listed (target, selector) pairs, and no approval the
executor grants outlives the batch (audit finding 2).

The deny-list this replaced looked only at the outer selector. Each test below is one way around
it the audit reproduced or listed, on a token allow-listed the way the keeper's deployment
allow-lists every token it routes (``approve`` and ``transfer``): drains of a user who wrongly
approved the executor (OpenZeppelin Multicall wrapping transferFrom, ERC-1363
transferFromAndCall, ERC-721 safeTransferFrom, burn(address,uint256)) and standing grants of the
executor's own balance (multicall(approve), LINK-style increaseApproval, setApprovalForAll,
ERC-777 authorizeOperator, ERC-7674 temporaryApprove)."""

from __future__ import annotations

import ape
import pytest

from keeper.settlement.abi import encode_orders
from tests.contracts.helpers import (
    MAX_UINT256,
    ROUTED_TOKEN,
    SWAP_EXACT_TOKENS,
    allow,
    call,
    raw_call,
    selector,
)

E18 = 10**18
E6 = 10**6
AT_REST = 1_000 * E18  # the executor's own balance (a batch's leftover surplus)
ROUTED = ROUTED_TOKEN


def _refused(executor, target, signature: str):
    """The executor refuses a call to ``target`` of the function named by ``signature`` (the
    error as ``executor``'s ABI decodes it)."""
    return ape.reverts(executor.CallNotAllowed, target=target.address, selector=selector(signature))


@pytest.fixture
def loose(project, owner, executor, alice):
    """A token with every side door, allow-listed as a routed token; Alice (wrongly) approved
    the executor for all of hers, and the executor holds a balance at rest."""
    token = owner.deploy(project.LooseToken)
    allow(executor, owner, token, *ROUTED)
    token.mint(alice, 5 * E18, sender=owner)
    token.approve(executor, MAX_UINT256, sender=alice)
    token.mint(executor, AT_REST, sender=owner)
    return token


@pytest.fixture
def collectible(project, owner, executor, alice):
    """An ERC-721 allow-listed like a routed token (its approve has ERC-20 approve's selector);
    Alice (wrongly) approved the executor for all of hers; the executor holds one too."""
    nft = owner.deploy(project.TestCollectible)
    allow(executor, owner, nft, *ROUTED)
    nft.mint(alice, 1, sender=owner)
    nft.setApprovalForAll(executor, True, sender=alice)
    nft.mint(executor, 2, sender=owner)
    return nft


def _transfer_from(token, owner, to, amount) -> bytes:
    return bytes(token.transferFrom.encode_input(owner, to, amount))


# --- drains of a user who approved the executor ---------------------------------------------


def test_a_multicall_wrapping_transfer_from_cannot_drain_a_user(
    intents, executor, keeper, alice, loose
):
    inner = _transfer_from(loose, alice, keeper, 5 * E18)
    steal = call(loose, "multicall", [inner])

    with _refused(executor, loose, "multicall(bytes[])"):
        intents.settle([], [steal], sender=keeper)
    assert loose.balanceOf(alice) == 5 * E18


def test_erc1363_transfer_from_and_call_cannot_drain_a_user(
    project, intents, executor, keeper, attacker, alice, loose
):
    sink = attacker.deploy(project.TokenSink)
    signature = "transferFromAndCall(address,address,uint256)"
    steal = raw_call(
        loose, signature, ["address", "address", "uint256"], [alice.address, sink.address, 5 * E18]
    )

    with _refused(executor, loose, signature):
        intents.settle([], [steal], sender=keeper)
    assert loose.balanceOf(alice) == 5 * E18


def test_erc721_safe_transfer_from_cannot_take_a_users_collectible(
    intents, executor, keeper, alice, collectible
):
    signature = "safeTransferFrom(address,address,uint256)"
    steal = raw_call(
        collectible,
        signature,
        ["address", "address", "uint256"],
        [alice.address, keeper.address, 1],
    )

    with _refused(executor, collectible, signature):
        intents.settle([], [steal], sender=keeper)
    assert collectible.ownerOf(1) == alice.address


def test_burn_of_another_address_cannot_destroy_a_users_tokens(
    intents, executor, keeper, alice, loose
):
    signature = "burn(address,uint256)"
    burn = raw_call(loose, signature, ["address", "uint256"], [alice.address, 5 * E18])

    with _refused(executor, loose, signature):
        intents.settle([], [burn], sender=keeper)
    assert loose.balanceOf(alice) == 5 * E18


# --- standing grants of the executor's own balance ------------------------------------------


def test_a_multicall_wrapping_approve_cannot_leave_a_standing_allowance(
    intents, executor, keeper, attacker, loose
):
    inner = bytes(loose.approve.encode_input(attacker, MAX_UINT256))

    with _refused(executor, loose, "multicall(bytes[])"):
        intents.settle([], [call(loose, "multicall", [inner])], sender=keeper)
    assert loose.allowance(executor, attacker) == 0


def test_link_style_increase_approval_cannot_leave_a_standing_allowance(
    intents, executor, keeper, attacker, loose
):
    signature = "increaseApproval(address,uint256)"
    grant = raw_call(loose, signature, ["address", "uint256"], [attacker.address, MAX_UINT256])

    with _refused(executor, loose, signature):
        intents.settle([], [grant], sender=keeper)
    assert loose.allowance(executor, attacker) == 0


def test_set_approval_for_all_cannot_make_an_operator_of_the_executors_collectibles(
    intents, executor, keeper, attacker, collectible
):
    grant = call(collectible, "setApprovalForAll", attacker, True)

    with _refused(executor, collectible, "setApprovalForAll(address,bool)"):
        intents.settle([], [grant], sender=keeper)
    assert not collectible.isApprovedForAll(executor, attacker)


def test_erc777_authorize_operator_cannot_make_an_operator_of_the_executors_balance(
    intents, executor, keeper, attacker, loose
):
    grant = call(loose, "authorizeOperator", attacker)

    with _refused(executor, loose, "authorizeOperator(address)"):
        intents.settle([], [grant], sender=keeper)
    assert not loose.isOperatorFor(executor, attacker)


def test_erc7674_temporary_approve_cannot_be_spent_after_settle_in_the_same_transaction(
    project, intents, executor, owner, keeper, attacker, loose
):
    # A keeper contract settles, then spends the transaction-long allowance settle granted it.
    runner = attacker.deploy(project.SettleThenCall)
    executor.setKeeper(runner, True, sender=owner)
    grant = call(loose, "temporaryApprove", runner, MAX_UINT256)
    settle = executor.settle.encode_input(encode_orders([]), [grant.as_abi()])
    take = _transfer_from(loose, executor, attacker, AT_REST)

    with _refused(runner, loose, "temporaryApprove(address,uint256)"):  # bubbled by the runner
        runner.run(executor, settle, loose, take, sender=keeper)
    assert loose.balanceOf(executor) == AT_REST


def test_approve_to_an_address_that_is_no_allow_listed_entry_point_is_refused(
    intents, executor, keeper, attacker, loose
):
    with ape.reverts(executor.SpenderNotAllowed, target=loose.address, spender=attacker.address):
        intents.settle([], [call(loose, "approve", attacker, MAX_UINT256)], sender=keeper)
    assert loose.allowance(executor, attacker) == 0


# --- approvals the executor grants end with the batch ---------------------------------------

SWAP_EXACT = SWAP_EXACT_TOKENS


@pytest.fixture
def routed(intents, executor, owner, alice, uniswap_v2, weth_like, usdc):
    """Router02 allow-listed for its exact-input swap, WETH and USDC as routed tokens, and Alice
    selling 1 WETH for >= 2,900 USDC."""
    router, _ = uniswap_v2
    allow(executor, owner, router, SWAP_EXACT)
    allow(executor, owner, weth_like, *ROUTED)
    allow(executor, owner, usdc, *ROUTED)
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 2_900 * E6)])
    return router, intents.order(intent, alice)


def _swap(router, executor, weth_like, usdc, approve: int):
    return [
        call(weth_like, "approve", router, approve),
        call(router, "swapExactTokensForTokens", E18, 0, [weth_like, usdc], executor, 2**40),
    ]


def test_an_approval_the_batch_does_not_use_up_is_refused(
    intents, executor, keeper, weth_like, usdc, routed
):
    router, order = routed

    with ape.reverts(
        executor.ApprovalOutlivesBatch,
        token=weth_like.address,
        spender=router.address,
        remaining=E18,
    ):
        intents.settle([order], _swap(router, executor, weth_like, usdc, 2 * E18), sender=keeper)
    assert weth_like.allowance(executor, router) == 0


def test_after_a_routed_batch_the_executor_allows_no_interaction_target_anything(
    intents, executor, keeper, alice, weth_like, usdc, routed
):
    router, order = routed

    intents.settle([order], _swap(router, executor, weth_like, usdc, E18), sender=keeper)

    assert usdc.balanceOf(alice) == 2_900 * E6
    for token in (weth_like, usdc):
        for target in (router, weth_like, usdc):
            assert token.allowance(executor, target) == 0
