"""A dropped intent's reason is for its owner: token units with symbols and the minimum the
owner signed, not base units of an internal piece with the keeper's safety margin added."""

from __future__ import annotations

import re

from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.settlement.planner import NettingPlanner
from tests.keeper.pipeline.test_planner_fee_pull import _candidate, _head
from tests.keeper.pipeline.test_planner_prices import (
    DECIMALS,
    E18,
    REFERENCE,
    USDC,
    WBTC,
    WETH,
    _fees,
    _market,
)


def _planner() -> NettingPlanner:
    return NettingPlanner(
        executor="0x" + "ee" * 20,
        chain_id=1,
        snapshot=_market,
        usd_prices=REFERENCE,
        decimals=DECIMALS,
        weth=WETH,
        usd_token=USDC,
        symbols={WETH: "WETH", WBTC: "WBTC", USDC: "USDC"},
    )


def test_a_minimum_the_pools_cannot_meet_is_reported_in_usdc_against_the_signed_minimum():
    # the pool pays about 2,490 USDC for 1 WETH; the owner signed at least 2,999 USDC
    intent = RebalanceIntent(
        owner="0x" + "01" * 20,
        executor="0x" + "ee" * 20,
        nonce=1,
        deadline=10**10,
        sells=[TokenAmount(token=WETH, amount=E18)],
        buys=[TokenAmount(token=USDC, amount=2_999 * 10**6)],
    )
    plan = _planner().plan([_candidate(intent)], _head(), _fees(10))

    assert plan.settlement is None
    reason = plan.dropped["x"]
    match = re.fullmatch(
        r"limit not met: would receive ([\d,]+\.\d+) USDC < your minimum 2,999\.0 USDC "
        r"\(at this block's prices, with the keeper's 0\.1% safety margin\)",
        reason,
    )
    assert match, reason
    assert 2_400 < float(match.group(1).replace(",", "")) < 2_999
