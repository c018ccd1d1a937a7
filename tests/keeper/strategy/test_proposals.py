"""Proposals -> intents: legs, limits, splitting, emergency exit."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.intents.types import RebalanceIntent
from keeper.strategy.costs import ZERO_COST
from keeper.strategy.decisions import Decision
from keeper.strategy.exceptions import ProposalError
from keeper.strategy.proposals import (
    IntentTerms,
    OracleQuoter,
    TokenRef,
    build_proposal,
    emergency_exit,
    pair_trades,
)
from keeper.strategy.slippage import min_out, slippage_allowance

WETH = TokenRef("WETH", "0x" + "11" * 20, 18)
USDC = TokenRef("USDC", "0x" + "22" * 20, 6)
WBTC = TokenRef("WBTC", "0x" + "33" * 20, 8)
TOKENS = {t.symbol: t for t in (WETH, USDC, WBTC)}
PRICES = {"WETH": 2_000.0, "USDC": 1.0, "WBTC": 50_000.0}
OWNER = "0x" + "aa" * 20
EXECUTOR = "0x" + "ee" * 20
BALANCES = {"WETH": 175 * 10**18, "USDC": 650_000 * 10**6, "WBTC": 0}


def decision(trades: dict[str, float]) -> Decision:
    return Decision(True, "test", {}, {}, trades, ZERO_COST, 1.0, 1_000_000.0)


def test_slippage_follows_volatility_within_bounds():
    # 2 x 0.6 x sqrt(600 s / 1 y) = 0.5234 %
    assert slippage_allowance(0.6, 600, 0.0005, 0.01) == pytest.approx(
        1.2 * np.sqrt(600 / 31_536_000)
    )
    assert slippage_allowance(0.6, 600, 0.0001, 0.001) == 0.001  # stablecoin vault cap
    assert slippage_allowance(0.0, 600, 0.0005, 0.01) == 0.0005
    assert min_out(1_000_000, 0.005) == 995_000


def test_sells_are_paired_with_buys_largest_first():
    pairs = pair_trades({"A": -100.0, "B": -50.0, "C": 120.0, "D": 30.0})
    assert pairs == [("A", "C", 100.0), ("B", "C", 20.0), ("B", "D", 30.0)]


def test_a_proposal_becomes_one_intent_with_quoted_limits():
    terms = IntentTerms(owner=OWNER, executor=EXECUTOR, nonce=7, now=1_000, deadline_seconds=900)
    p = build_proposal(
        decision({"WETH": -65_000.0, "USDC": 65_000.0}),
        TOKENS,
        PRICES,
        BALANCES,
        OracleQuoter(PRICES),
        0.005,
        terms,
    )
    (leg,) = p.legs
    assert leg.amount_in == 325 * 10**17  # 32.5 WETH
    assert leg.expected_out == 64_805 * 10**6  # $65,000 less 0.3 %
    assert leg.min_out == 64_480_975_000  # less 0.5 % slippage
    (intent,) = p.intents
    assert isinstance(intent, RebalanceIntent)
    assert [(a.token, a.amount) for a in intent.sells] == [(WETH.address, 325 * 10**17)]
    assert [(a.token, a.amount) for a in intent.buys] == [(USDC.address, 64_480_975_000)]
    assert (intent.nonce, intent.valid_after, intent.deadline) == (7, 0, 1_900)
    assert p.summary()[1].startswith("  sell 32.5 WETH -> buy >= 64,481 USDC")


def test_a_large_trade_is_split_into_spaced_intents_that_add_up():
    terms = IntentTerms(
        owner=OWNER, executor=EXECUTOR, nonce=100, now=5_000, max_chunk_usd=30_000.0
    )
    p = build_proposal(
        decision({"WETH": -65_000.0, "USDC": 65_000.0}),
        TOKENS,
        PRICES,
        BALANCES,
        OracleQuoter(PRICES),
        0.005,
        terms,
    )
    assert len(p.intents) == 3  # ceil(65,000 / 30,000)
    assert [i.nonce for i in p.intents] == [100, 101, 102]
    assert [i.valid_after for i in p.intents] == [0, 5_600, 6_200]
    assert sum(i.sells[0].amount for i in p.intents) == 325 * 10**17
    assert sum(i.buys[0].amount for i in p.intents) == 64_480_975_000


def test_sells_never_exceed_the_balance():
    terms = IntentTerms(owner=OWNER, executor=EXECUTOR, nonce=1, now=0)
    p = build_proposal(
        decision({"WETH": -1e9, "USDC": 1e9}),
        TOKENS,
        PRICES,
        BALANCES,
        OracleQuoter(PRICES),
        0.01,
        terms,
    )
    assert p.legs[0].amount_in == BALANCES["WETH"]


def test_no_rebalance_means_no_proposal():
    hold = Decision(False, "ETH inside band", {}, {}, {}, ZERO_COST, 0.0, 1.0)
    terms = IntentTerms(owner=OWNER, executor=EXECUTOR, nonce=1, now=0)
    with pytest.raises(ProposalError, match="not to rebalance"):
        build_proposal(hold, TOKENS, PRICES, BALANCES, OracleQuoter(PRICES), 0.01, terms)


def test_emergency_exit_sells_every_holding_in_one_intent():
    balances = {"WETH": 10**18, "WBTC": 2 * 10**8, "USDC": 5 * 10**6}
    terms = IntentTerms(owner=OWNER, executor=EXECUTOR, nonce=9, now=0, max_chunk_usd=1.0)
    p = emergency_exit("USDC", TOKENS, PRICES, balances, OracleQuoter(PRICES, 0.0), 0.01, terms)
    (intent,) = p.intents
    sells = {a.token: a.amount for a in intent.sells}
    assert sells == {WETH.address: 10**18, WBTC.address: 2 * 10**8}
    # $2,000 + $100,000 at 1 % slippage
    assert [(a.token, a.amount) for a in intent.buys] == [(USDC.address, 100_980 * 10**6)]
    assert p.explanation == "emergency exit: sell everything for USDC"


def test_one_intent_per_leg_gives_single_pair_intents_with_consecutive_nonces():
    terms = IntentTerms(owner=OWNER, executor=EXECUTOR, nonce=40, now=0, intent_per_leg=True)
    # sell $30k of WETH and $20k of WBTC (the shared BALANCES hold no WBTC) for USDC
    balances = {**BALANCES, "WBTC": 10**8}
    trades = {"WETH": -30_000.0, "WBTC": -20_000.0, "USDC": 50_000.0}
    p = build_proposal(
        decision(trades), TOKENS, PRICES, balances, OracleQuoter(PRICES), 0.005, terms
    )
    assert [i.nonce for i in p.intents] == [40, 41]
    assert [(len(i.sells), len(i.buys)) for i in p.intents] == [(1, 1), (1, 1)]
    assert [i.sells[0].token for i in p.intents] == [WETH.address, WBTC.address]
    assert p.intents[0].sells[0].amount == 15 * 10**18  # $30k / $2,000
