"""Proposals: a decision turned into intent legs the user reviews and signs.

Sells and buys are paired largest-to-largest into legs; each leg is quoted by a
:class:`Quoter` (the routing engine's simulation, or :class:`OracleQuoter` from prices), and the
intent asks for at least ``quote * (1 - slippage)`` of every bought token and takes at most the
planned amount of every sold token. Trades larger than ``max_chunk_usd`` are split into equal
intents that become valid one after another (``spacing`` seconds apart), each with its own
nonce, so a large rebalance is spread over blocks and time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.strategy.decisions import Decision
from keeper.strategy.exceptions import ProposalError
from keeper.strategy.slippage import min_out


@dataclass(frozen=True)
class TokenRef:
    symbol: str
    address: str
    decimals: int


class Quoter(Protocol):
    """Expected output of selling ``amount_in`` (raw units) of one token for another."""

    def quote(self, sell: TokenRef, buy: TokenRef, amount_in: int) -> int: ...


@dataclass(frozen=True)
class OracleQuoter:
    """Quotes from USD prices less a flat fee; for previews and tests, not for limits on-chain."""

    prices_usd: dict[str, float]
    fee_rate: float = 0.003

    def quote(self, sell: TokenRef, buy: TokenRef, amount_in: int) -> int:
        usd = amount_in / 10**sell.decimals * self.prices_usd[sell.symbol]
        return int(usd * (1.0 - self.fee_rate) / self.prices_usd[buy.symbol] * 10**buy.decimals)


@dataclass(frozen=True)
class Leg:
    sell: TokenRef
    buy: TokenRef
    amount_in: int
    expected_out: int
    min_out: int


@dataclass(frozen=True)
class Proposal:
    owner: str
    explanation: str
    legs: tuple[Leg, ...]
    intents: tuple[RebalanceIntent, ...]
    slippage: float

    def summary(self) -> list[str]:
        lines = [self.explanation]
        for leg in self.legs:
            lines.append(
                f"  sell {leg.amount_in / 10**leg.sell.decimals:,.6g} {leg.sell.symbol} -> "
                f"buy >= {leg.min_out / 10**leg.buy.decimals:,.6g} {leg.buy.symbol} "
                f"(quote {leg.expected_out / 10**leg.buy.decimals:,.6g})"
            )
        if len(self.intents) > 1:
            lines.append(f"  split into {len(self.intents)} intents over time")
        return lines


def pair_trades(trades_usd: dict[str, float]) -> list[tuple[str, str, float]]:
    """Match sells to buys largest first: ``[(sell, buy, usd), ...]``; volumes are conserved."""
    sells = sorted(((k, -v) for k, v in trades_usd.items() if v < 0), key=lambda x: (-x[1], x[0]))
    buys = sorted(((k, v) for k, v in trades_usd.items() if v > 0), key=lambda x: (-x[1], x[0]))
    out: list[tuple[str, str, float]] = []
    i = j = 0
    s_left = sells[0][1] if sells else 0.0
    b_left = buys[0][1] if buys else 0.0
    while i < len(sells) and j < len(buys):
        usd = min(s_left, b_left)
        if usd > 1e-9:
            out.append((sells[i][0], buys[j][0], usd))
        s_left -= usd
        b_left -= usd
        if s_left <= 1e-9:
            i += 1
            s_left = sells[i][1] if i < len(sells) else 0.0
        if b_left <= 1e-9:
            j += 1
            b_left = buys[j][1] if j < len(buys) else 0.0
    return out


@dataclass(frozen=True)
class IntentTerms:
    """Everything about the intents that is not in the decision."""

    owner: str
    executor: str
    nonce: int
    now: int
    deadline_seconds: int = 3_600
    keeper: str = "0x0000000000000000000000000000000000000000"
    fee_token: str = "0x0000000000000000000000000000000000000000"
    max_fee: int = 0
    max_chunk_usd: float = math.inf
    spacing_seconds: int = 600
    #: one intent per (sell, buy) leg, consecutive nonces, all valid at once (not split
    #: further): each settles as a single pair, at the cost of one signature per leg
    intent_per_leg: bool = False


def build_legs(
    trades_usd: dict[str, float],
    tokens: dict[str, TokenRef],
    prices_usd: dict[str, float],
    balances: dict[str, int],
    quoter: Quoter,
    slippage: float,
) -> list[Leg]:
    legs: list[Leg] = []
    for sell, buy, usd in pair_trades(trades_usd):
        s, b = tokens[sell], tokens[buy]
        amount = int(usd / prices_usd[sell] * 10**s.decimals)
        amount = min(amount, balances.get(sell, 0))
        if amount <= 0:
            continue
        expected = quoter.quote(s, b, amount)
        legs.append(Leg(s, b, amount, expected, min_out(expected, slippage)))
    return legs


def legs_to_intents(legs: list[Leg], terms: IntentTerms, total_usd: float) -> list[RebalanceIntent]:
    if not legs:
        raise ProposalError(terms.owner, "nothing to trade")
    if terms.intent_per_leg:
        one = replace(terms, intent_per_leg=False, max_chunk_usd=math.inf)
        return [
            legs_to_intents([leg], replace(one, nonce=terms.nonce + k), total_usd)[0]
            for k, leg in enumerate(legs)
        ]
    parts = max(1, math.ceil(total_usd / terms.max_chunk_usd)) if terms.max_chunk_usd else 1
    intents = []
    for i in range(parts):
        sells: dict[str, int] = {}
        buys: dict[str, int] = {}
        for leg in legs:
            # the last part takes the rounding remainder so the parts add up exactly
            amount = leg.amount_in // parts + (leg.amount_in % parts if i == parts - 1 else 0)
            floor = leg.min_out // parts + (leg.min_out % parts if i == parts - 1 else 0)
            sells[leg.sell.address] = sells.get(leg.sell.address, 0) + amount
            buys[leg.buy.address] = buys.get(leg.buy.address, 0) + floor
        valid_after = terms.now + i * terms.spacing_seconds if i else 0
        start = terms.now + i * terms.spacing_seconds
        intents.append(
            RebalanceIntent(
                owner=terms.owner,
                executor=terms.executor,
                keeper=terms.keeper,
                nonce=terms.nonce + i,
                valid_after=valid_after,
                deadline=start + terms.deadline_seconds,
                sells=tuple(TokenAmount(token=k, amount=v) for k, v in sorted(sells.items())),
                buys=tuple(TokenAmount(token=k, amount=v) for k, v in sorted(buys.items())),
                fee_token=terms.fee_token,
                max_fee=terms.max_fee,
            )
        )
    return intents


def build_proposal(
    decision: Decision,
    tokens: dict[str, TokenRef],
    prices_usd: dict[str, float],
    balances: dict[str, int],
    quoter: Quoter,
    slippage: float,
    terms: IntentTerms,
) -> Proposal:
    if not decision.rebalance:
        raise ProposalError(
            terms.owner, f"the decision was not to rebalance ({decision.explanation})"
        )
    missing = sorted(k for k in decision.trades_usd if k not in tokens)
    if missing:
        raise ProposalError(terms.owner, f"no address for {', '.join(missing)}")
    legs = build_legs(decision.trades_usd, tokens, prices_usd, balances, quoter, slippage)
    total = sum(-v for v in decision.trades_usd.values() if v < 0)
    intents = legs_to_intents(legs, terms, total)
    return Proposal(terms.owner, decision.explanation, tuple(legs), tuple(intents), slippage)


def emergency_exit(
    to: str,
    tokens: dict[str, TokenRef],
    prices_usd: dict[str, float],
    balances: dict[str, int],
    quoter: Quoter,
    slippage: float,
    terms: IntentTerms,
) -> Proposal:
    """One intent that sells every holding except ``to`` for ``to``."""
    if to not in tokens:
        raise ProposalError(terms.owner, f"exit token {to} has no address")
    trades: dict[str, float] = {}
    for sym, raw in balances.items():
        if sym != to and raw > 0:
            trades[sym] = -raw / 10 ** tokens[sym].decimals * prices_usd[sym]
    if not trades:
        raise ProposalError(terms.owner, f"already entirely in {to}")
    trades[to] = -sum(trades.values())
    legs = build_legs(trades, tokens, prices_usd, balances, quoter, slippage)
    # sell the whole balance (no dust left behind by float rounding)
    legs = [
        Leg(
            leg.sell, leg.buy, balances[leg.sell.symbol], *_requote(leg, balances, quoter, slippage)
        )
        for leg in legs
    ]
    one = replace(terms, max_chunk_usd=math.inf, intent_per_leg=False)
    intents = legs_to_intents(legs, one, sum(-v for v in trades.values() if v < 0))
    reason = f"emergency exit: sell everything for {to}"
    return Proposal(terms.owner, reason, tuple(legs), tuple(intents), slippage)


def _requote(
    leg: Leg, balances: dict[str, int], quoter: Quoter, slippage: float
) -> tuple[int, int]:
    expected = quoter.quote(leg.sell, leg.buy, balances[leg.sell.symbol])
    return expected, min_out(expected, slippage)
