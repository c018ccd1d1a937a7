"""What a swap loses to a sandwich bot through the public mempool, and through the relay."""

from __future__ import annotations

from eth_account import Account
from web3 import Web3

from keeper.chain.anvil import AnvilProcess
from keeper.relay import RelayClient
from keeper.relay.sandbox import deploy_v2_sandbox, dev_accounts
from keeper.relay.sandwich import SandwichBot, amount_out, largest_front_run, swap_through
from keeper.relay.server import LocalRelay

TOKEN = 10**18


def test_largest_front_run_leaves_the_victim_exactly_at_its_minimum():
    reserve = 1_000_000 * TOKEN
    victim_in = 10_000 * TOKEN
    quoted = amount_out(victim_in, reserve, reserve)
    minimum = quoted * 99 // 100
    x = largest_front_run(victim_in, minimum, reserve, reserve, budget=10**30)
    y = amount_out(x, reserve, reserve)
    assert amount_out(victim_in, reserve + x, reserve - y) >= minimum
    y2 = amount_out(x + 1, reserve, reserve)
    assert amount_out(victim_in, reserve + x + 1, reserve - y2) < minimum
    assert largest_front_run(victim_in, quoted + 1, reserve, reserve, 10**30) == 0


def test_public_swap_is_sandwiched_and_the_same_swap_through_the_relay_loses_nothing(project):
    with AnvilProcess(args=["--order", "fifo"]) as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        deployer, victim, searcher = dev_accounts(3)
        market = deploy_v2_sandbox(w3, deployer)
        market.fund(deployer, victim, 10**6 * TOKEN)
        market.fund(deployer, searcher, 10**6 * TOKEN)
        bot = SandwichBot(market, searcher, budget=10**6 * TOKEN)
        with LocalRelay(anvil.url) as relay:
            client = RelayClient(relay.url, Account.create())
            public = swap_through("public", market, relay, victim, bot, 10_000 * TOKEN, 100)
            private = swap_through(
                "relay", market, relay, victim, bot, 10_000 * TOKEN, 100, client=client
            )

    assert public.attacked and public.bot_profit > 0
    assert 95 <= public.loss_bps <= 100  # squeezed down to its 1% amountOutMin
    assert public.actual_out >= public.min_out
    assert not private.attacked and private.bot_profit == 0
    assert private.loss_bps == 0 and private.actual_out == private.quoted_out
    assert len(bot.attacks) == 1  # the bot never saw the private swap
