"""Executor gas: a 1-intent batch, the marginal gas per extra 1-leg intent in a netted batch (no
AMM interaction), and the same trades as one Uniswap V2 Router02 swap transaction per leg.

Everything runs on one fresh anvil (cancun), measured from receipts (``gasUsed``, refunds
included, 21,000 base included). ``measure()`` is importable (tests/contracts/test_settle_gas.py
asserts the target with it); ``run()`` prints the table recorded in docs/BENCHMARKS.md, then
where the gas of one extra intent goes (``profile()``: an 8-intent batch minus a 2-intent batch,
from anvil's step traces, per contract frame and opcode class).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

E18 = 10**18
E6 = 10**6
MAX_UINT160 = 2**160 - 1
MAX_UINT256 = 2**256 - 1
FAR_FUTURE = 2**40


@dataclass
class Market:
    """Executor, vault, two tokens and a warm Uniswap V2 pool between them."""

    executor: Any
    vault: Any
    weth: Any
    usdc: Any
    router: Any
    owner: Any
    keeper: Any
    chain_id: int
    users: list[Any] = field(default_factory=list)
    next_user: int = 10


def deploy(project: Any, accounts: Any, chain: Any) -> Market:
    """Deploy the executor and a WETH/USDC V2 pool with deep liquidity."""
    from keeper.chain.artifacts import container

    owner, keeper = accounts[0], accounts[1]
    executor = owner.deploy(project.BatchExecutor, owner, accounts[5], 0, [keeper], [])
    weth = owner.deploy(project.TestToken, "WETH", "WETH", 18)
    usdc = owner.deploy(project.TestToken, "USDC", "USDC", 6)
    factory = owner.deploy(container("UniswapV2Factory"), owner)
    router = owner.deploy(container("UniswapV2Router02"), factory, owner.deploy(container("WETH9")))
    for token, amount in ((weth, 10_000 * E18), (usdc, 30_000_000 * E6)):
        token.mint(owner, amount, sender=owner)
        token.approve(router, amount, sender=owner)
    router.addLiquidity(
        weth, usdc, 10_000 * E18, 30_000_000 * E6, 0, 0, owner, FAR_FUTURE, sender=owner
    )
    vault = project.AllowanceVault.at(executor.vault())
    return Market(executor, vault, weth, usdc, router, owner, keeper, int(chain.chain_id))


def new_user(market: Market, accounts: Any, chain: Any, allowance: int) -> Any:
    """A fresh funded account that approved the vault (and the router, for the baseline)."""
    user = accounts.generate_test_account()
    chain.provider.set_balance(user.address, 10 * E18)
    for token in (market.weth, market.usdc):
        token.mint(user, 1_000 * E18 if token == market.weth else 10_000_000 * E6, sender=user)
        token.approve(market.vault, MAX_UINT256, sender=user)
        token.approve(market.router, MAX_UINT256, sender=user)
        market.vault.approve(token, allowance, FAR_FUTURE, sender=user)
    return user


def _orders(
    market: Market, users: list[Any], nonce: int, deadline: int, direct: bool = True
) -> list[Any]:
    """Pairs of users with opposite 1-leg intents (WETH -> USDC and USDC -> WETH). ``direct``:
    each sell goes straight to its counterpart (one transfer per intent, as the keeper plans a
    coincidence of wants); otherwise through the executor (in and out: two per intent)."""
    from keeper.intents.signing import sign_intent
    from keeper.intents.types import DirectLeg, Execution, Order, RebalanceIntent, TokenAmount

    orders = []
    for index, user in enumerate(users):
        sell, buy = (market.weth, market.usdc) if index % 2 == 0 else (market.usdc, market.weth)
        sell_amount, buy_amount = (E18, 3_000 * E6) if index % 2 == 0 else (3_000 * E6, E18)
        intent = RebalanceIntent(
            owner=user.address,
            executor=market.executor.address,
            nonce=nonce,
            deadline=deadline,
            sells=[TokenAmount(token=sell.address, amount=sell_amount)],
            buys=[TokenAmount(token=buy.address, amount=buy_amount)],
        )
        if direct:
            counterpart = DirectLeg(order=index + 1 if index % 2 == 0 else index - 1, leg=0)
            execution = Execution(
                sell_amounts=[sell_amount], buy_amounts=[0], sell_to=[counterpart]
            )
        else:
            execution = Execution(sell_amounts=[sell_amount], buy_amounts=[buy_amount])
        signature = sign_intent(intent, user, market.chain_id)
        orders.append(Order(intent=intent, signature=signature, execution=execution))
    return orders


def netted_batch_gas(
    market: Market, users: list[Any], nonce: int, chain: Any, direct: bool = True
) -> int:
    """Gas of one settle() netting ``len(users)`` 1-leg intents against each other."""
    from keeper.settlement.abi import encode_orders

    deadline = int(chain.pending_timestamp) + 3600
    orders = encode_orders(_orders(market, users, nonce, deadline, direct))
    receipt = market.executor.settle(orders, [], sender=market.keeper)
    return int(receipt.gas_used)


def router_swap_gas(market: Market, user: Any) -> int:
    """Gas of one Router02 swapExactTokensForTokens transaction (warm pool, approved)."""
    receipt = market.router.swapExactTokensForTokens(
        E18, 0, [market.weth, market.usdc], user, FAR_FUTURE, sender=user
    )
    return int(receipt.gas_used)


def single_intent_with_swap_gas(market: Market, user: Any, chain: Any) -> int:
    """Gas of a 1-intent batch whose counter-flow is one Router02 swap (approve + swap)."""
    from keeper.intents.signing import sign_intent
    from keeper.intents.types import Execution, Interaction, Order, RebalanceIntent, TokenAmount
    from keeper.routing.calldata import ERC20_APPROVE, V2_ROUTER_SWAP, selector
    from keeper.settlement.abi import encode_orders

    for target, signature in ((market.weth, ERC20_APPROVE), (market.router, V2_ROUTER_SWAP)):
        if not market.executor.isAllowedCall(target, selector(signature)):
            market.executor.setCall(target, selector(signature), True, sender=market.owner)
    path = [market.weth.address, market.usdc.address]
    out = int(market.router.getAmountsOut(E18, path)[-1])
    intent = RebalanceIntent(
        owner=user.address,
        executor=market.executor.address,
        nonce=2,
        deadline=int(chain.pending_timestamp) + 3600,
        sells=[TokenAmount(token=market.weth.address, amount=E18)],
        buys=[TokenAmount(token=market.usdc.address, amount=out)],
    )
    order = Order(
        intent=intent,
        signature=sign_intent(intent, user, market.chain_id),
        execution=Execution(sell_amounts=[E18], buy_amounts=[out]),
    )
    calls = [
        (market.weth, market.weth.approve.encode_input(market.router, E18)),
        (
            market.router,
            market.router.swapExactTokensForTokens.encode_input(
                E18, out, path, market.executor, FAR_FUTURE
            ),
        ),
    ]
    interactions = [
        Interaction(target=t.address, call_data=bytes(data)).as_abi() for t, data in calls
    ]
    receipt = market.executor.settle(encode_orders([order]), interactions, sender=market.keeper)
    return int(receipt.gas_used)


def _slope(xs: list[int], ys: list[int]) -> float:
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return cov / sum((x - mean_x) ** 2 for x in xs)


def measure(
    project: Any, accounts: Any, chain: Any, sizes: tuple[int, ...] = (2, 4, 8, 16)
) -> dict[str, float]:
    """All figures, measured side by side on the connected chain (which it changes)."""
    market = deploy(project, accounts, chain)
    figures: dict[str, float] = {}
    for label, allowance in (("finite", 10**30), ("unlimited", MAX_UINT160)):
        users = [new_user(market, accounts, chain, allowance) for _ in range(max(sizes))]
        first, returning = [], []
        for size in sizes:
            group = users[:size]
            snapshot = chain.snapshot()
            first.append(netted_batch_gas(market, group, 0, chain))  # fresh nonce word
            returning.append(netted_batch_gas(market, group, 1, chain))  # word already used
            chain.restore(snapshot)
        figures[f"marginal_first_{label}"] = _slope(list(sizes), first)
        figures[f"marginal_returning_{label}"] = _slope(list(sizes), returning)
        figures[f"batch2_first_{label}"] = first[0]
        figures[f"batch2_returning_{label}"] = returning[0]
        routed = []
        for size in sizes:
            snapshot = chain.snapshot()
            netted_batch_gas(market, users[:size], 0, chain, direct=False)
            routed.append(netted_batch_gas(market, users[:size], 1, chain, direct=False))
            chain.restore(snapshot)
        figures[f"marginal_routed_{label}"] = _slope(list(sizes), routed)
    figures["single_intent_with_swap"] = single_intent_with_swap_gas(market, users[0], chain)
    figures["router_swap_tx"] = router_swap_gas(market, users[0])
    figures["router_swap_tx_second"] = router_swap_gas(market, users[0])
    return figures


#: opcode classes the profile keeps apart (everything else is "code")
_STORAGE_OPS = ("SLOAD", "SSTORE", "KECCAK256", "LOG1", "LOG2", "LOG3", "LOG4")


def _frame_costs(chain: Any, tx_hash: str, names: dict[str, str]) -> Counter[tuple[str, str]]:
    """Gas of one transaction by (contract frame, opcode class); a CALL's own cost (not what
    the callee spends) is booked to the caller as ``call``."""
    trace = chain.provider.web3.provider.make_request(
        "debug_traceTransaction",
        [tx_hash, {"disableMemory": True, "disableStorage": True}],
    )["result"]["structLogs"]
    costs: Counter[tuple[str, str]] = Counter()
    frames: list[int] = []  # index of the CALL step that opened each inner frame
    owners = ["executor"]
    for i, step in enumerate(trace):
        while len(frames) >= step["depth"]:  # returned: book the call's own cost to the caller
            at = frames.pop()
            owners.pop()
            last = trace[i - 1]
            spent_inside = trace[at + 1]["gas"] - (last["gas"] - last["gasCost"])
            costs[(owners[-1], "call")] += trace[at]["gas"] - step["gas"] - spent_inside
        op = step["op"]
        if op in ("CALL", "STATICCALL"):
            target = "0x" + step["stack"][-2][2:].rjust(40, "0")[-40:]
            name = names.get(target.lower(), "other")
            if trace[i + 1]["depth"] > step["depth"]:
                frames.append(i)
                owners.append(name)
            else:  # a precompile: no steps inside, the whole cost is the call's
                costs[(owners[-1], f"call {name}")] += step["gas"] - trace[i + 1]["gas"]
            continue
        kind = "LOG" if op.startswith("LOG") else op if op in _STORAGE_OPS else "code"
        costs[(owners[-1], kind)] += step["gasCost"]
    return costs


def profile(market: Market, accounts: Any, chain: Any) -> tuple[float, list[tuple[str, float]]]:
    """Gas of one extra returning-user intent (finite allowance) by part: (8-batch - 2-batch)/6.
    Needs an anvil started with ``--steps-tracing``."""
    from keeper.settlement.abi import encode_orders

    users = [new_user(market, accounts, chain, 10**30) for _ in range(8)]
    netted_batch_gas(market, users, 0, chain)  # nonce words in use from here on
    names = {
        market.executor.address.lower(): "executor",
        market.vault.address.lower(): "vault",
        market.weth.address.lower(): "token",
        market.usdc.address.lower(): "token",
        "0x0000000000000000000000000000000000000001": "ecrecover",
    }
    totals, parts = {}, {}
    for size in (2, 8):
        deadline = int(chain.pending_timestamp) + 3600
        orders = encode_orders(_orders(market, users[:size], size, deadline))
        receipt = market.executor.settle(orders, [], sender=market.keeper)
        data = bytes(chain.provider.web3.eth.get_transaction(receipt.txn_hash)["input"])
        parts[size] = _frame_costs(chain, str(receipt.txn_hash), names)
        parts[size][("tx", "calldata")] = sum(16 if byte else 4 for byte in data)
        totals[size] = int(receipt.gas_used)
    rows = {
        f"{key[0]} {key[1]}": (parts[8][key] - parts[2][key]) / 6
        for key in set(parts[2]) | set(parts[8])
    }
    ranked = sorted(((k, v) for k, v in rows.items() if abs(v) >= 1), key=lambda kv: -kv[1])
    return (totals[8] - totals[2]) / 6, ranked


def run() -> None:
    import ape

    from keeper.chain.anvil import AnvilProcess

    with AnvilProcess(args=["--hardfork", "cancun", "--steps-tracing"]) as node:
        choice = "ethereum:local:foundry"
        with ape.networks.parse_network_choice(choice, provider_settings={"host": node.url}):
            f = measure(ape.project, ape.accounts.test_accounts, ape.chain)
            market = deploy(ape.project, ape.accounts.test_accounts, ape.chain)
            extra, parts = profile(market, ape.accounts.test_accounts, ape.chain)
    swap = min(f["router_swap_tx"], f["router_swap_tx_second"])  # warm: no one-off oracle write
    single = f["single_intent_with_swap"]
    print(f"1-intent batch, counter-flow from one Router02 swap: {single:,.0f} gas")
    print("batch of 2 netted 1-leg intents (one settle tx, no AMM):")
    print(f"  fresh nonce word: {f['batch2_first_finite']:,.0f} gas")
    print(f"  used nonce word:  {f['batch2_returning_finite']:,.0f} gas")
    print("marginal gas per extra 1-leg intent (slope over 2/4/8/16 intents):")
    words = {"returning": "nonce word in use", "first": "fresh nonce word"}
    for who in ("returning", "first"):
        for allowance in ("finite", "unlimited"):
            value = f[f"marginal_{who}_{allowance}"]
            print(
                f"  {words[who]:17s}, {allowance:9s} vault allowance: {value:8,.0f} gas"
                f"  ({value / swap:.2f}x a Router02 swap tx)"
            )
    for allowance in ("finite", "unlimited"):
        value = f[f"marginal_routed_{allowance}"]
        print(f"  same, through the executor (2 transfers), {allowance:9s}: {value:8,.0f} gas")
    print(f"one Router02 swapExactTokensForTokens tx per leg: {swap:,.0f} gas")
    print(f"  (same user again: {f['router_swap_tx_second']:,.0f} gas)")
    print(f"one extra intent (word in use, finite allowance; 8-batch - 2-batch): {extra:,.0f} gas")
    for part, gas in parts:
        print(f"  {part:26s} {gas:8,.0f}")
