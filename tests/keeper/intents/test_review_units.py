"""Whole-token amounts in and out, and the review a person reads before signing."""

from __future__ import annotations

import pytest

from keeper.intents.proposal_file import TokenInfo
from keeper.intents.review import review_lines
from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.units import AmountError, format_units, parse_units

WETH = TokenInfo(address="0x" + "11" * 20, symbol="WETH", decimals=18, usd_price=3000.0)
USDC = TokenInfo(address="0x" + "22" * 20, symbol="USDC", decimals=6, usd_price=1.0)
OWNER = "0x" + "33" * 20
EXECUTOR = "0x" + "44" * 20


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("1.5", 18, 15 * 10**17),
        ("5,970", 6, 5_970_000_000),
        ("0.000001", 6, 1),
        ("2", 8, 2 * 10**8),
    ],
)
def test_whole_tokens_become_exact_base_units(text, decimals, units):
    assert parse_units("--sell", text, decimals) == units


def test_more_decimals_than_the_token_has_is_refused_not_truncated():
    with pytest.raises(AmountError, match=r"--buy '1.0000001': USDC has 6 decimals; 7 given"):
        parse_units("--buy", "1.0000001", 6, "USDC")


@pytest.mark.parametrize("text", ["0", "-1", "lots", "nan", "inf"])
def test_non_positive_or_non_numeric_amounts_are_refused(text):
    with pytest.raises(AmountError, match="--sell"):
        parse_units("--sell", text, 18)


def test_base_units_print_as_exact_whole_tokens():
    assert format_units(2 * 10**18, 18) == "2.0"
    assert format_units(5_970_123_456, 6) == "5,970.123456"
    assert format_units(1, 18) == "0.000000000000000001"


def test_the_review_shows_each_limit_in_tokens_with_usd_the_fee_cap_and_the_deadline():
    intent = RebalanceIntent(
        owner=OWNER,
        executor=EXECUTOR,
        nonce=7,
        deadline=1_000 + 3_600,
        sells=[TokenAmount(token=WETH.address, amount=2 * 10**18)],
        buys=[TokenAmount(token=USDC.address, amount=5_970 * 10**6)],
    )
    lookup = {t.address.lower(): t for t in (WETH, USDC)}
    lines = review_lines([intent], 1, 1_000, lambda a: lookup[a.lower()])
    assert lines[0].startswith("intent 1 of 1 (nonce 7), owner ")
    assert "chain 1, executor 0x4444" in lines[0] and lines[0].endswith("any keeper")
    assert lines[1] == "  sell ≤ 2.0 WETH (≈ $6,000) → buy ≥ 5,970.0 USDC (≈ $5,970)"
    assert lines[2] == "  fee cap: none (the keeper may charge no fee)"
    assert lines[3].startswith("  valid until ") and lines[3].endswith("(in 60 minutes)")
