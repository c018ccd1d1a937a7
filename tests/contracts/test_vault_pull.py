"""AllowanceVault.pull: only the executor, only within the allowance, only where settle sends it
(the executor, or a buyer of the batch through a direct leg)."""

from __future__ import annotations

import ape

E18 = 10**18


def test_nobody_but_the_executor_can_pull(
    intents, vault, owner, keeper, attacker, alice, weth_like
):
    intents.fund(alice, weth_like, E18)

    for account in (owner, keeper, attacker, alice):
        with ape.reverts(vault.NotExecutor, caller=account.address):
            vault.pull(alice, weth_like, E18, account, sender=account)
    assert weth_like.balanceOf(alice) == E18


def test_the_vault_is_bound_to_the_executor_that_deployed_it(executor, vault):
    assert vault.executor() == executor.address
    assert executor.vault() == vault.address


def test_a_sell_leg_to_the_executor_moves_tokens_only_to_the_executor(
    intents, executor, keeper, alice, weth_like
):
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(alice, sells=[(weth_like, E18)])

    receipt = intents.settle([intents.order(intent, alice)], sender=keeper)

    transfers = receipt.decode_logs(weth_like.Transfer)
    assert [(t["from"], t.to, t.value) for t in transfers] == [
        (alice.address, executor.address, E18)
    ]
