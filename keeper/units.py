"""Whole tokens as people type and read them, base units as contracts and JSON carry them.

``parse_units`` refuses what it cannot represent exactly (more decimals than the token has, a
non-positive amount) instead of truncating; ``format_units`` prints the exact amount with
thousands separators and no trailing zeros beyond one decimal.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from keeper.exceptions import KeeperError


class AmountError(KeeperError):
    """A typed amount is not a valid amount of its token; ``option`` names the input."""

    def __init__(self, option: str, value: str, problem: str) -> None:
        self.option, self.value, self.problem = option, value, problem
        super().__init__(f"{option} {value!r}: {problem}")


def parse_units(option: str, text: str, decimals: int, symbol: str = "") -> int:
    """``text`` whole tokens (``"1.5"``, ``"5,970"``) in base units of a ``decimals`` token."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        whole = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(option, text, "expected a number of whole tokens, e.g. 1.5") from None
    if not whole.is_finite() or whole <= 0:
        raise AmountError(option, text, "the amount must be a positive number")
    exponent = whole.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > decimals:
        name = f"{symbol} has" if symbol else "the token has"
        raise AmountError(
            option, text, f"{name} {decimals} decimals; {-exponent} given (would be truncated)"
        )
    return int(whole.scaleb(decimals))


def format_units(units: int, decimals: int) -> str:
    """``units`` base units as exact whole tokens: ``2000000000000000000, 18 -> "2.0"``."""
    value = Decimal(units).scaleb(-decimals)
    text = f"{value:,f}"
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return text


def format_usd(amount: float) -> str:
    """``$6,000`` for large amounts, cents below $100."""
    return f"${amount:,.0f}" if abs(amount) >= 100 else f"${amount:,.2f}"
