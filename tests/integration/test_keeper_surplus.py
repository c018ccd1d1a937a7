"""The keeper keeps no spread: every settlement its planner makes delivers the whole netted and
routed output to the users (issue 13, finding 6).

The real planner plans intents on the forked seeded market (pool snapshot read from the chain),
the keeper signs the settlement and the chain runs it. Afterwards the executor holds exactly
what it held before, in every token: nothing of what the pools paid or the other side of a
netted pair sold stays behind. The keeper gains only the fees it charged, each within the
intent's signed ``maxFee``, and every owner receives exactly what the plan quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from ape import chain as ape_chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeper.chainview import Head
from keeper.config import GasPolicy
from keeper.intents.signing import intent_digest, sign_intent
from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.intents.validation import SignedIntent
from keeper.market.funding import balance_of, fund_portfolio
from keeper.settlement.gas import next_base_fee, quote_fees
from keeper.settlement.plan import Candidate
from keeper.settlement.transaction import sign

pytestmark = [pytest.mark.fork, pytest.mark.slow]

SYMBOLS = ("WETH", "WBTC", "USDC", "DAI", "USDT")
HOLDINGS = {"WETH": 60, "WBTC": 2, "USDC": 200_000, "DAI": 200_000, "USDT": 200_000}
MAX_UINT160 = 2**160 - 1
MAX_UINT256 = 2**256 - 1
FAR_FUTURE = 2**40
#: the keeper's fee policy in these tests: 60,000 gas per order at the block's gas price
FEE_GAS = 60_000


@pytest.fixture(scope="module")
def surplus_executor(owner, keeper, seeded_market):
    from ape import project

    from keeper.market.executor import default_targets, deploy

    v2_pairs = [p.address for p in seeded_market.pools if p.dex == "uniswap-v2"]
    record = deploy(
        owner, keepers=[keeper.address], targets=[*default_targets(seeded_market), *v2_pairs]
    ).record
    return project.BatchExecutor.at(record.address)


@pytest.fixture(scope="module")
def traders(accounts, seeded_market, surplus_executor):
    """Five users holding every token, each approved to the vault without limit."""
    from ape import project

    web3 = ape_chain.provider.web3
    vault = project.AllowanceVault.at(surplus_executor.vault())
    users = [accounts[i] for i in (2, 3, 4, 6, 7)]
    for user in users:
        fund_portfolio(web3, seeded_market, user.address, HOLDINGS)
        for symbol in SYMBOLS:
            token = seeded_market.token(symbol).address
            project.TestToken.at(token).approve(vault, MAX_UINT256, sender=user)
            vault.approve(token, MAX_UINT160, FAR_FUTURE, sender=user)
    return users


@dataclass(frozen=True)
class Leg:
    symbol: str
    usd: float  # sells: the amount's value; buys: the signed minimum's value


def _units(market, symbol: str, usd: float) -> int:
    token = market.token(symbol)
    return int(usd / float(token.usd_price) * 10**token.decimals)


def _planner(market, executor: str):
    from keeper.routing import Market
    from keeper.routing.state import read_market_snapshot
    from keeper.settlement.planner import NettingPlanner, describe_prices

    url = ape_chain.provider.uri
    prices, decimals = describe_prices(market)
    return NettingPlanner(
        executor=executor,
        chain_id=int(ape_chain.chain_id),
        snapshot=lambda: Market(read_market_snapshot(url, market, word_radius=4)),
        usd_prices=prices,
        decimals=decimals,
        swap_router=market.contracts["SwapRouter"],
        weth=market.contracts["WETH9"],
        usd_token=market.token("USDC").address,
        fee_gas_per_order=FEE_GAS,
    )


def _settle_and_check(market, executor, keeper, users, intents) -> dict[str, int]:
    """Plan ``intents`` ([(user, sells, buys, max_fee_usd)]) with the real planner, settle the
    plan, and check that nothing stays with the executor; returns what the plan did (counts)."""
    web3 = ape_chain.provider.web3
    chain_id = int(ape_chain.chain_id)
    latest = web3.eth.get_block("latest")
    head = Head(
        int(latest["number"]),
        int(latest["timestamp"]),
        int(latest.get("baseFeePerGas", 0)),
        int(latest["gasUsed"]),
        int(latest["gasLimit"]),
    )
    fees = quote_fees(GasPolicy(), next_base_fee(head.base_fee, head.gas_used, head.gas_limit))
    candidates = []
    for n, (user, sells, buys, max_fee_usd) in enumerate(intents):
        fee_fields = {}
        if max_fee_usd:
            symbol = sells[0].symbol
            fee_fields = {
                "fee_token": market.token(symbol).address,
                "max_fee": _units(market, symbol, max_fee_usd),
            }
        intent = RebalanceIntent(
            owner=user.address,
            executor=executor.address,
            nonce=1_000 + n,
            deadline=head.timestamp + 3_600,
            sells=[
                TokenAmount(
                    token=market.token(s.symbol).address, amount=_units(market, s.symbol, s.usd)
                )
                for s in sells
            ],
            buys=[
                TokenAmount(
                    token=market.token(b.symbol).address, amount=_units(market, b.symbol, b.usd)
                )
                for b in buys
            ],
            **fee_fields,
        )
        signed = SignedIntent(intent=intent, signature=sign_intent(intent, user, chain_id))
        candidates.append(Candidate("0x" + intent_digest(intent, chain_id).hex(), signed, 0))
    plan = _planner(market, executor.address).plan(candidates, head, fees)
    settlement = plan.settlement
    if settlement is None:
        return {"orders": 0}
    tokens = [market.token(s).address for s in SYMBOLS]
    holders = [executor.address, keeper.address, *(u.address for u in users)]

    def balances() -> dict[tuple[str, str], int]:
        return {(h, t): balance_of(web3, t, h) for h in holders for t in tokens}

    before = balances()
    gas = web3.eth.estimate_gas(settlement.call_params(keeper.address))
    signed = sign(settlement, keeper, nonce=keeper.nonce, gas_limit=gas * 13 // 10, fees=fees)
    receipt = web3.eth.wait_for_transaction_receipt(web3.eth.send_raw_transaction(signed.raw))
    assert receipt["status"] == 1
    after = balances()
    delta = {key: after[key] - before[key] for key in before}

    # Nothing stays with the executor: not a wei of any token.
    kept = {t: delta[(executor.address, t)] for t in tokens if delta[(executor.address, t)]}
    assert kept == {}, f"the executor kept {kept} (plan: {settlement.quoted})"
    # The keeper gets exactly the fees it charged, each within the signed maximum.
    charged: dict[str, int] = {}
    for order in settlement.orders:
        assert order.execution.fee <= order.intent.max_fee
        if order.execution.fee:
            token = order.intent.fee_token
            charged[token] = charged.get(token, 0) + order.execution.fee
    assert {t: delta[(keeper.address, t)] for t in tokens if delta[(keeper.address, t)]} == charged
    # Every owner gets what the plan quoted and gives what the plan pulled (no shared tokens:
    # the planner defers an owner's second intent that would share one).
    for order, intent_id in zip(settlement.orders, settlement.intent_ids, strict=True):
        owner = order.intent.owner
        for leg, quoted in zip(order.intent.buys, settlement.quoted[intent_id], strict=True):
            assert delta[(owner, leg.token)] == quoted
            assert quoted >= leg.amount  # the signed minimum
        for leg, sold in zip(order.intent.sells, order.execution.sell_amounts, strict=True):
            assert -delta[(owner, leg.token)] == sold <= leg.amount
    return {
        "orders": len(settlement.orders),
        "interactions": len(settlement.interactions),
        "direct": sum(1 for o in settlement.orders for t in o.execution.sell_to if t),
        "fees": len(charged),
        "multi_hop": any(
            leg.token_in.lower() != route.sell_token.lower()
            for route in plan.routes
            for leg in route.legs
        ),
    }


S, B = Leg, Leg
SCENARIOS = {
    # two users, one pair, crossing inside the AMM band: nothing routed
    "netted": [(0, [S("WETH", 6_000)], [B("USDC", 5_000)], 0),
               (1, [S("USDC", 6_000)], [B("WETH", 5_000)], 0)],
    # three sellers against one buyer: the excess goes through the pools and the proceeds are
    # shared pro rata among the sellers
    "netted-residual": [(0, [S("WETH", 9_000)], [B("USDC", 8_000)], 0),
                        (1, [S("WETH", 7_001)], [B("USDC", 6_000)], 0),
                        (2, [S("WETH", 3_333)], [B("USDC", 3_000)], 0),
                        (3, [S("USDC", 4_444)], [B("WETH", 4_000)], 0)],
    # no counter-flow, no direct pool: multi-hop routes
    "routed-multi-hop": [(0, [S("WBTC", 20_000)], [B("DAI", 18_000)], 0),
                         (1, [S("USDT", 7_777)], [B("WBTC", 7_000)], 0)],
    # the smaller seller's leg goes straight to the buyer
    "direct-legs": [(0, [S("WETH", 9_000)], [B("USDC", 8_000)], 0),
                    (1, [S("USDC", 3_000)], [B("WETH", 2_500)], 0)],
    # a multi-leg intent whose pieces share pools, against a single-pair one
    "multi-leg": [(0, [S("WETH", 9_000), S("WBTC", 5_000)], [B("USDC", 6_000), B("DAI", 6_000)], 0),
                  (1, [S("DAI", 2_500)], [B("WETH", 2_000)], 0)],
    # fees signed in a sell token, on a netted pair and a routed one
    "fees": [(0, [S("WETH", 5_000)], [B("USDC", 4_000)], 20),
             (1, [S("USDC", 2_000)], [B("WETH", 1_500)], 20),
             (2, [S("DAI", 3_000)], [B("WBTC", 2_500)], 5)],
}  # fmt: skip


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_the_planner_settles_leaves_nothing_with_the_executor(
    name, seeded_market, surplus_executor, keeper, traders
):
    intents = [(traders[u], sells, buys, fee) for u, sells, buys, fee in SCENARIOS[name]]
    done = _settle_and_check(seeded_market, surplus_executor, keeper, traders, intents)
    assert done["orders"] == len(intents), done  # every intent of the scenario settled
    if name == "routed-multi-hop":
        assert done["multi_hop"]
    if name == "direct-legs":
        assert done["direct"] >= 1
    if name == "fees":
        assert done["fees"] >= 1


LEGS = st.lists(st.sampled_from(SYMBOLS), min_size=2, max_size=4, unique=True)


@st.composite
def random_intents(draw):
    count = draw(st.integers(1, 5))
    intents = []
    for _ in range(count):
        symbols = draw(LEGS)
        cut = draw(st.integers(1, len(symbols) - 1))
        sells = [S(s, draw(st.floats(50, 20_000))) for s in symbols[:cut]]
        # minimum: 0-95 % of the sold value, shared among the buys
        floor = draw(st.floats(0, 0.95)) * sum(s.usd for s in sells) / (len(symbols) - cut)
        buys = [B(s, floor) for s in symbols[cut:]]
        fee = draw(st.sampled_from([0, 0, 1, 30]))
        intents.append((draw(st.integers(0, 4)), sells, buys, fee))
    return intents


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=random_intents())
def test_for_random_intents_the_planner_leaves_nothing_with_the_executor(
    drawn, seeded_market, surplus_executor, keeper, traders
):
    with ape_chain.isolate():
        intents = [(traders[u], sells, buys, fee) for u, sells, buys, fee in drawn]
        _settle_and_check(seeded_market, surplus_executor, keeper, traders, intents)
