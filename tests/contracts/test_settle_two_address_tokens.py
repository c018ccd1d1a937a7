"""settle with one token reachable at two addresses over one set of balances (a proxy and a
legacy alias, as TUSD and SNX once were; audit finding 7). While buys were measured as balance
growth over the whole batch, one delivery at one address grew the owner's balance "at" both, so
it satisfied a buy leg at each. Each buy now counts only the transfers made for it, so one
delivery counts once. The allow-list rule in docs/SECURITY.md still keeps such tokens out."""

from __future__ import annotations

import ape
import pytest

from tests.contracts.helpers import MINT, allow, call

E18 = 10**18


@pytest.fixture
def double(project, owner):
    """The token at its main address, and its alias (the same balances)."""
    token = owner.deploy(project.DoubleEntryToken)
    return token, project.DoubleEntryAlias.at(token.alias_())


def test_one_delivery_at_one_address_cannot_satisfy_buys_at_both(
    intents, executor, owner, keeper, alice, weth_like, double
):
    token, alias = double
    allow(executor, owner, token, MINT)
    intents.fund(alice, weth_like, E18)
    # Alice signed buys of 100 at each address; the keeper delivers 100 at the main one only.
    intent = intents.intent(
        alice, sells=[(weth_like, E18)], buys=[(token, 100 * E18), (alias, 100 * E18)]
    )
    order = intents.order(intent, alice, buy_amounts=[100 * E18, 0])
    assert alias.balanceOf(alice) == token.balanceOf(alice)  # one balance, two addresses

    with ape.reverts(executor.BuyBelowMinimum, token=alias.address, received=0, minimum=100 * E18):
        intents.settle([order], [call(token, "mint", executor, 100 * E18)], sender=keeper)
    assert weth_like.balanceOf(alice) == E18


def test_deliveries_at_both_addresses_each_count_and_each_leave_the_executor(
    intents, executor, owner, keeper, alice, weth_like, double
):
    token, alias = double
    allow(executor, owner, token, MINT)
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(
        alice, sells=[(weth_like, E18)], buys=[(token, 100 * E18), (alias, 100 * E18)]
    )
    order = intents.order(intent, alice)

    # 200 delivered out of 100 brought in: the rest would come from 100 resting in the
    # executor, and the no-deficit check sees the shared balance fall at either address.
    token.mint(executor, 100 * E18, sender=owner)
    with ape.reverts(executor.TokenDeficit, balanceBefore=100 * E18, balanceAfter=0):
        intents.settle([order], [call(token, "mint", executor, 100 * E18)], sender=keeper)
    receipt = intents.settle([order], [call(token, "mint", executor, 200 * E18)], sender=keeper)

    assert token.balanceOf(alice) == 200 * E18
    assert token.balanceOf(executor) == 100 * E18
    [settled] = receipt.decode_logs(executor.IntentSettled)
    assert list(settled.received) == [100 * E18, 100 * E18]
