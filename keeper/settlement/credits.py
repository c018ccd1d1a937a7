"""Builder-refund credits against keeper fees: each fee lowered by exactly its owner's credit.

A credit is wei (refunds are ETH); a fee is base units of the intent's fee token. The credit's
value in the fee token (``to_token``: the planner's conversion at the block's prices, the one
fees are computed with) comes off the fee, never below zero; when the fee is smaller, only the
part of the credit worth the fee is used and the rest stays with the owner for later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from keeper.intents.types import RebalanceIntent


@dataclass(frozen=True)
class FeeCredits:
    #: intent id -> wei of credit used
    wei: dict[str, int] = field(default_factory=dict)
    #: intent id -> base units of its fee token taken off its fee
    units: dict[str, int] = field(default_factory=dict)


def credited_fee(fee: int, credit_wei: int, credit_units: int) -> tuple[int, int]:
    """``(fee lowered by the credit, wei of credit used)``, with ``credit_units`` the credit's
    value in the fee token."""
    if credit_units <= fee:
        return fee - credit_units, credit_wei if credit_units > 0 else 0
    per_unit = credit_wei / credit_units  # wei per base unit of the fee token
    return 0, min(credit_wei, int(fee * per_unit) + 1)


def apply_credits(
    live: Mapping[str, RebalanceIntent],
    keeper_fees: dict[str, tuple[int, int]],
    balances: Mapping[str, int],
    to_units: Callable[[int, str], int],
) -> FeeCredits:
    """Lower each intent's fee (``keeper_fees``: id -> (leg, fee), changed in place) by its
    owner's credit (``balances``: owner -> wei), in claim order."""
    left = {k.lower(): v for k, v in balances.items()}
    credits = FeeCredits()
    for intent_id, intent in live.items():
        leg, fee = keeper_fees[intent_id]
        owner = intent.owner.lower()
        credit = left.get(owner, 0)
        if not fee or credit <= 0:
            continue
        lowered, used = credited_fee(fee, credit, to_units(credit, intent.fee_token))
        if used <= 0:
            continue
        left[owner] = credit - used
        credits.wei[intent_id] = used
        credits.units[intent_id] = fee - lowered
        keeper_fees[intent_id] = (leg, lowered) if lowered > 0 else (-1, 0)
    return credits
