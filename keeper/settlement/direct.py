"""Direct legs: a sell leg paid straight to a buyer of the same token in the batch.

When one order sells token T and another buys T, routing both through the executor costs two
transfers (seller -> executor, executor -> buyer); the packed ``settle`` lets the sell leg name
the buyer's order and buy leg instead (``Execution.sell_to``), and the vault pulls from the
seller straight to the buyer: one transfer. The buyer's executor delivery shrinks by the same
amount, so what the executor receives and pays per token moves by the same amount on both
sides: its net flow per token, and with it the residual swaps, is unchanged. The contract
measures each buyer's balance growth over the whole batch, so the buyer's signed minimum is
checked against direct + executor delivery together.

A sell leg goes all to one place, so it can only become direct if one buy leg of another order
still expects at least its whole amount from the executor. A transfer is saved only where direct
legs cover a buyer's whole delivery (otherwise the executor still sends the rest), so legs are
matched best-fit decreasing: per token, the largest sell legs first, each to the buy leg whose
remaining executor delivery is the smallest that still holds it (an exact fit first; ties in
batch order).

A direct leg's tokens never pass through the executor, so they must not be tokens one of the
batch's swaps spends before a later swap pays the executor back (a WETH seller's leg sent to
the buyer of WETH that a DAI -> WETH swap pays, while the WETH -> USDC swap before it still
needs that WETH: the router's pull fails, "STF"). :func:`spare_for_direct_legs` gives, per
token, how much may go direct.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from keeper.intents.types import DirectLeg


@dataclass(frozen=True)
class OrderFlows:
    """One order's legs as the planner fills them: ``(token, amount)`` per sell leg (what is
    pulled) and per buy leg (what the executor delivers), in the signed leg order."""

    owner: str
    sells: Sequence[tuple[str, int]]
    buys: Sequence[tuple[str, int]]


@dataclass(frozen=True)
class DirectAssignment:
    """Per order: each sell leg's destination (None: the executor) and the executor's
    remaining delivery per buy leg."""

    sell_to: list[list[DirectLeg | None]]
    buy_amounts: list[list[int]]

    @property
    def direct_count(self) -> int:
        return sum(to is not None for legs in self.sell_to for to in legs)


def assign_direct_legs(
    orders: Sequence[OrderFlows],
    routed: Collection[tuple[int, int]] = (),
    limits: Mapping[str, int] | None = None,
) -> DirectAssignment:
    """Send whichever sell legs can go straight to a buyer of their token, best-fit decreasing.

    ``routed``: ``(order index, sell leg index)`` pairs that must go through the executor (a
    leg carrying the keeper's fee: the executor pays the fee out of it). ``limits``: token ->
    the most of it that may go direct in all (what the executor can spare while its swaps run,
    see :func:`spare_for_direct_legs`); no entry: no limit. A sell leg is never
    sent to an order of the same owner (the owner's growth would not count it), nor to its own
    order; zero-amount legs stay with the executor (nothing is pulled).
    """
    sell_to: list[list[DirectLeg | None]] = [[None] * len(o.sells) for o in orders]
    remaining = [[amount for _, amount in o.buys] for o in orders]
    sells_by_token: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    buys_by_token: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, order in enumerate(orders):
        for j, (token, amount) in enumerate(order.sells):
            if amount > 0 and (i, j) not in routed:
                sells_by_token[token.lower()].append((amount, i, j))
        for j, (token, _) in enumerate(order.buys):
            buys_by_token[token.lower()].append((i, j))
    limit = {k.lower(): v for k, v in (limits or {}).items()}
    for token, sells in sells_by_token.items():
        buyers = buys_by_token.get(token)
        if not buyers:
            continue
        spare = limit.get(token)
        # largest first; ties in batch order (deterministic)
        for amount, i, j in sorted(sells, key=lambda s: (-s[0], s[1], s[2])):
            if spare is not None and amount > spare:
                continue
            owner = orders[i].owner.lower()
            fits = [
                (remaining[k][leg], n)
                for n, (k, leg) in enumerate(buyers)
                if k != i and orders[k].owner.lower() != owner and remaining[k][leg] >= amount
            ]
            if fits:
                k, leg = buyers[min(fits)[1]]
                sell_to[i][j] = DirectLeg(order=k, leg=leg)
                remaining[k][leg] -= amount
                if spare is not None:
                    spare -= amount
    return DirectAssignment(sell_to=sell_to, buy_amounts=remaining)


def spare_for_direct_legs(
    pulled: Mapping[str, int], swaps: Sequence[tuple[str, int, str, int]]
) -> dict[str, int]:
    """Per token, how much of what the executor pulls it can do without while its swaps run.

    ``pulled``: token -> the amount all sell legs bring to the executor (before any goes
    direct); ``swaps``: ``(token in, amount in, token out, amount out)`` in execution order.
    A direct leg's tokens never reach the executor, so they must not be ones a swap spends
    before a later swap pays the executor back: with ``need`` the largest shortfall of a token
    at any swap (what earlier swaps spent and paid counted), the spare amount is
    ``pulled - need``. The executor's deliveries come after every swap, so only swaps count.
    """
    balance: dict[str, int] = {}
    need: dict[str, int] = {}
    for token_in, amount_in, token_out, amount_out in swaps:
        t_in, t_out = token_in.lower(), token_out.lower()
        balance[t_in] = balance.get(t_in, 0) - amount_in
        need[t_in] = max(need.get(t_in, 0), -balance[t_in])
        balance[t_out] = balance.get(t_out, 0) + amount_out
    return {t.lower(): max(0, a - need.get(t.lower(), 0)) for t, a in pulled.items()}
