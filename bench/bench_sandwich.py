"""Public mempool vs relay: what one swap loses to a sandwich bot, side by side in one run.

For each slippage tolerance, the same 10,000-token swap into a 1M/1M Uniswap V2 pool is sent
once to anvil's public pool (the bot watches it) and once through the local relay
(eth_sendPrivateTransaction). Loss is the shortfall against the quote at send time, in bps.
Also times the relay itself: eth_callBundle and building a block with one 2-tx bundle.
"""

from __future__ import annotations

import statistics
import time

TOKEN = 10**18
SWAP = 10_000 * TOKEN
TOLERANCES_BPS = (10, 50, 100, 300)


def run() -> None:
    from eth_account import Account
    from web3 import Web3

    from keeper.chain.anvil import AnvilProcess
    from keeper.relay import Bundle, RelayClient
    from keeper.relay.sandbox import deploy_v2_sandbox, dev_accounts
    from keeper.relay.sandwich import SandwichBot, swap_through
    from keeper.relay.server import LocalRelay

    with AnvilProcess(args=["--order", "fifo"]) as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        deployer, victim, searcher, a, b = dev_accounts(5)
        market = deploy_v2_sandbox(w3, deployer)
        market.fund(deployer, victim, 10**7 * TOKEN)
        market.fund(deployer, searcher, 10**7 * TOKEN)
        bot = SandwichBot(market, searcher, budget=10**7 * TOKEN)
        with LocalRelay(anvil.url) as relay:
            client = RelayClient(relay.url, Account.create())
            print("swap 10,000 TIN into a 1,000,000/1,000,000 V2 pool; loss vs quote (bps)")
            print(f"{'tolerance':>10} {'public':>8} {'relay':>8} {'bot profit (TIN)':>17}")
            for tolerance in TOLERANCES_BPS:
                public = swap_through("public", market, relay, victim, bot, SWAP, tolerance)
                private = swap_through(
                    "relay", market, relay, victim, bot, SWAP, tolerance, client=client
                )
                print(
                    f"{tolerance:>8}bp {public.loss_bps:>8.1f} {private.loss_bps:>8.1f} "
                    f"{public.bot_profit / TOKEN:>17.2f}"
                )
            _time_relay(w3, relay, client, a, b, Bundle)


def _time_relay(w3, relay, client, a, b, bundle_cls) -> None:  # type: ignore[no-untyped-def]
    def transfer(account, nonce):  # type: ignore[no-untyped-def]
        tx = {
            "to": "0x000000000000000000000000000000000000dEaD",
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
            "nonce": nonce,
            "chainId": w3.eth.chain_id,
            "type": 2,
        }
        return bytes(account.sign_transaction(tx).raw_transaction)

    sims, builds, empties = [], [], []
    for _ in range(5):
        bundle = bundle_cls.of(
            [
                transfer(a, w3.eth.get_transaction_count(a.address)),
                transfer(b, w3.eth.get_transaction_count(b.address)),
            ]
        )
        head = w3.eth.block_number
        started = time.perf_counter()
        client.call_bundle(bundle, head + 1)
        sims.append(time.perf_counter() - started)
        client.send_bundle(bundle, head + 1)
        started = time.perf_counter()
        relay.mine_block()
        builds.append(time.perf_counter() - started)
        started = time.perf_counter()
        relay.mine_block()
        empties.append(time.perf_counter() - started)
    ms = 1000
    print(
        f"eth_callBundle (2 txs, over HTTP) median {statistics.median(sims) * ms:.1f} ms; "
        f"build a block with a 2-tx bundle {statistics.median(builds) * ms:.1f} ms "
        f"vs an empty block {statistics.median(empties) * ms:.1f} ms "
        f"(x{statistics.median(builds) / statistics.median(empties):.1f})"
    )
