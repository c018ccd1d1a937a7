"""What a person reads before signing an intent: every limit in whole tokens with its symbol.

One block per intent::

    intent 1 of 1 (nonce 0), chain 1, executor 0x…, any keeper
      sell ≤ 2.0 WETH (≈ $6,000) → buy ≥ 5,970.0 USDC (≈ $5,970)
      fee cap: none
      valid until 2026-12-06 12:31:05 CET (in 60 minutes)

The review reads only the intent and a token table (symbol, decimals, optional USD price): it
shows what will be signed, not what the keeper says about it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from keeper.intents.proposal_file import PlannedLeg, TokenInfo
from keeper.intents.types import ZERO_ADDRESS, RebalanceIntent, TokenAmount
from keeper.units import format_units, format_usd

TokenLookup = Callable[[str], TokenInfo]


def _amount(leg: TokenAmount, lookup: TokenLookup) -> str:
    info = lookup(leg.token)
    text = f"{format_units(leg.amount, info.decimals)} {info.symbol}"
    if info.usd_price is not None:
        text += f" (≈ {format_usd(leg.amount / 10**info.decimals * info.usd_price)})"
    return text


def _when(deadline: int, now: int) -> str:
    local = datetime.fromtimestamp(deadline).astimezone()
    minutes = (deadline - now) / 60
    left = f"in {minutes:,.0f} minutes" if minutes >= 0 else f"{-minutes:,.0f} minutes ago"
    return f"{local:%Y-%m-%d %H:%M:%S %Z} ({left})"


def review_lines(
    intents: Sequence[RebalanceIntent],
    chain_id: int,
    now: int,
    lookup: TokenLookup,
    legs: Sequence[PlannedLeg] = (),
) -> list[str]:
    """The review of ``intents`` (``now``: chain time, for the minutes left). ``legs``, the
    pairwise trades a proposal planned, are shown before the limits of a single intent."""
    lines: list[str] = []
    if legs and len(intents) == 1:
        lines.append("planned trades:")
        for leg in legs:
            sell = TokenAmount(token=leg.sell, amount=leg.amount_in)
            buy = TokenAmount(token=leg.buy, amount=leg.min_out)
            lines.append(f"  sell ≤ {_amount(sell, lookup)} → buy ≥ {_amount(buy, lookup)}")
        lines.append("signed limits (per token, what the executor enforces):")
    for k, intent in enumerate(intents, start=1):
        keeper = "any keeper" if intent.keeper == ZERO_ADDRESS else f"only keeper {intent.keeper}"
        lines.append(
            f"intent {k} of {len(intents)} (nonce {intent.nonce}), owner {intent.owner}, "
            f"chain {chain_id}, executor {intent.executor}, {keeper}"
        )
        sells = [f"sell ≤ {_amount(leg, lookup)}" for leg in intent.sells]
        buys = [f"buy ≥ {_amount(leg, lookup)}" for leg in intent.buys]
        if len(sells) == 1 and len(buys) == 1:
            lines.append(f"  {sells[0]} → {buys[0]}")
        else:
            lines.extend(f"  {text}" for text in [*sells, *buys])
        if intent.max_fee:
            fee = TokenAmount(token=intent.fee_token, amount=intent.max_fee)
            lines.append(f"  fee cap: {_amount(fee, lookup)}")
        else:
            lines.append("  fee cap: none (the keeper may charge no fee)")
        if intent.valid_after > now:
            lines.append(f"  valid from {_when(intent.valid_after, now)}")
        lines.append(f"  valid until {_when(intent.deadline, now)}")
    return lines
