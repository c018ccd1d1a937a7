"""Nonces and the proposal file for proposals made against a live chain.

A proposal's intents get the owner's lowest free nonces, as ``keeper intent sign`` picks them:
free on-chain (the executor's bitmap) and not held by the keeper, filling a bitmap word the
owner already used before a fresh one (~17k gas cheaper per settled intent, docs/INTENTS.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from keeper.intents.cli_support import choose_nonces
from keeper.intents.proposal_file import PlannedLeg, ProposalFile, TokenInfo
from keeper.strategy.proposals import Proposal


def assign_nonces(
    w3: Any, executor: str, proposal: Proposal, taken: set[int], first: int | None = None
) -> Proposal:
    """``proposal`` with its intents on free nonces (``first``, ``first + 1``, … if given)."""
    count = len(proposal.intents)
    if first is not None:
        nonces = list(range(first, first + count))
    else:
        nonces = choose_nonces(w3, executor, proposal.owner, taken, count)
    intents = tuple(
        i.model_copy(update={"nonce": n}) for i, n in zip(proposal.intents, nonces, strict=True)
    )
    return replace(proposal, intents=intents)


def proposal_file(chain_id: int, proposal: Proposal, portfolio: Any) -> ProposalFile:
    """The file ``keeper propose --out`` writes: the intents plus symbols, decimals and the USD
    prices they were priced at, for the review before signing."""
    tokens = tuple(
        TokenInfo(
            address=ref.address,
            symbol=ref.symbol,
            decimals=ref.decimals,
            usd_price=portfolio.prices_usd.get(symbol),
        )
        for symbol, ref in sorted(portfolio.tokens.items())
    )
    return ProposalFile(
        chain_id=chain_id,
        owner=proposal.owner,
        explanation=proposal.explanation,
        tokens=tokens,
        legs=tuple(
            PlannedLeg(
                sell=leg.sell.address,
                buy=leg.buy.address,
                amount_in=leg.amount_in,
                min_out=leg.min_out,
            )
            for leg in proposal.legs
        ),
        intents=proposal.intents,
    )
