"""The planner values trades and gas at the block's pool prices, not at fixed references."""

from __future__ import annotations

from typing import Any

import pytest

from keeper.routing import Market
from keeper.settlement.planner import NettingPlanner
from tests.keeper.routing.builders import TOKENS, snapshot, v2

E18 = 10**18
WETH, WBTC, USDC, LONELY = TOKENS[:4]
REFERENCE = {WETH: 3_000.0, WBTC: 90_000.0, USDC: 1.0, LONELY: 7.0}
DECIMALS = {WETH: 18, WBTC: 8, USDC: 6, LONELY: 18}


def _market() -> Market:
    """WETH trades at 2,500 USDC and WBTC at 25 WETH (62,500 USDC); LONELY has no pool."""
    return Market(
        snapshot(
            [
                v2(0, 0, 2, 1_000 * E18, 2_500_000 * 10**6),
                v2(1, 0, 1, 2_500 * E18, 100 * 10**8),
            ],
            n_tokens=4,
            weth=0,
        )
    )


def _planner(usd_token: str | None, **options: Any) -> NettingPlanner:
    """A planner on :func:`_market`; ``options``: fee policy, direct legs."""
    return NettingPlanner(
        executor="0x" + "ee" * 20,
        chain_id=1,
        snapshot=_market,
        usd_prices=REFERENCE,
        decimals=DECIMALS,
        weth=WETH,
        usd_token=usd_token,
        **options,
    )


def test_tokens_are_valued_at_their_pool_mid_price_in_the_usd_token():
    prices = _planner(USDC).prices(_market())

    assert prices[WETH.lower()] == pytest.approx(2_500.0, rel=1e-12)
    assert prices[WBTC.lower()] == pytest.approx(62_500.0, rel=1e-12)  # through WETH
    assert prices[USDC.lower()] == 1.0
    assert prices[LONELY.lower()] == 7.0  # no pool to the numeraire: the reference price


def test_a_trades_usd_value_follows_the_pools():
    planner = _planner(USDC)
    prices = planner.prices(_market())

    assert planner.value_usd(WBTC, 2 * 10**8, prices) == pytest.approx(125_000.0, rel=1e-12)
    assert planner.value_usd(WBTC, 2 * 10**8) == 180_000.0  # reference prices


@pytest.mark.parametrize("usd_token", [None, "0x" + "ab" * 20])
def test_without_a_numeraire_in_the_pools_the_reference_prices_stand(usd_token):
    prices = _planner(usd_token).prices(_market())

    assert prices == {k.lower(): v for k, v in REFERENCE.items()}


def _intent(fee_token: str, max_fee: int, sell_weth: int = 2 * E18):
    from keeper.intents.types import RebalanceIntent, TokenAmount

    return RebalanceIntent(
        owner="0x" + "01" * 20,
        executor="0x" + "ee" * 20,
        nonce=1,
        deadline=10**10,
        sells=[TokenAmount(token=WETH, amount=sell_weth)],
        buys=[TokenAmount(token=USDC, amount=1)],
        fee_token=fee_token,
        max_fee=max_fee,
    )


def _fees(gwei: int):
    from keeper.settlement.gas import FeeQuote

    return FeeQuote(base_fee=gwei * 10**9, max_priority_fee=0, max_fee=2 * gwei * 10**9)


def _fee_planner(gas: int, markup_bps: int = 0) -> NettingPlanner:
    return _planner(USDC, fee_gas_per_order=gas, fee_markup_bps=markup_bps)


def test_the_keeper_fee_is_its_gas_share_in_the_fee_token_capped_by_the_signed_maximum():
    prices = _planner(USDC).prices(_market())
    # 60,000 gas at 10 gwei = 6e14 wei = 0.0006 WETH, out of the WETH sell leg
    assert _fee_planner(60_000).keeper_fee(_intent(WETH, E18), _fees(10), prices) == (0, 6 * 10**14)
    # +50 % markup, then capped at what the user signed
    assert _fee_planner(60_000, 5_000).keeper_fee(_intent(WETH, E18), _fees(10), prices) == (
        0,
        9 * 10**14,
    )
    assert _fee_planner(60_000).keeper_fee(_intent(WETH, 10**14), _fees(10), prices) == (0, 10**14)
    # never more than half the leg
    assert _fee_planner(60_000).keeper_fee(_intent(WETH, E18, 10**12), _fees(10), prices) == (
        0,
        5 * 10**11,
    )


@pytest.mark.parametrize(
    ("gas", "fee_token", "max_fee"),
    [
        (0, WETH, E18),  # the policy is off
        (60_000, WETH, 0),  # the user signed no fee
        (60_000, USDC, 10**6),  # the fee token is not one of the sells
    ],
)
def test_no_fee_is_charged_without_a_policy_a_signed_cap_or_a_sell_in_the_fee_token(
    gas, fee_token, max_fee
):
    prices = _planner(USDC).prices(_market())
    planner = _fee_planner(gas)
    assert planner.keeper_fee(_intent(fee_token, max_fee), _fees(10), prices) == (-1, 0)
