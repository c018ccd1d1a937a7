"""From claimed intents to one settlement: decompose, net, route, allocate.

1. Each intent is split into pairwise orders (sell token -> buy token). A multi-leg intent's
   sells are shared across its buys by the buys' value, and each buy minimum across its sells
   by the sells' value (reference USD prices), so the pieces add up to the signed limits.
   Every minimum carries the configured safety margin.
2. :func:`keeper.routing.netting.net` clears each pair at one uniform price, routing only the
   residual through the pools. An intent any of whose pieces misses its limit is dropped as a
   whole (it is retried later), and the rest is netted again.
3. Pairs are cleared one after another, in the order their first piece was claimed. The
   executor runs the residual routes in that order, so when a pair's route goes through a pool
   an earlier pair's route moved (e.g. WETH -> DAI through the WETH/USDC pool that WETH -> USDC
   also uses: two pieces of one multi-leg intent, or two intents), the pair is cleared again
   on the pool state the earlier routes leave (:mod:`keeper.settlement.replay`): every quote is
   what the chain will pay, and nobody is deferred for sharing a pool.
4. Fills are summed back per intent into the executor's ``Execution`` (sell and buy amounts in
   the signed leg order), and the routes become interactions (transfer + ``pair.swap`` for V2,
   approve + ``exactInputSingle`` for V3).
5. Sell legs that one buy leg of another order can take whole become direct legs
   (:mod:`keeper.settlement.direct`): pulled straight to that buyer, whose executor delivery
   shrinks by as much. The executor's net flow per token, hence the routes, is unchanged.

The executor credits each buy leg with its own delivery and the direct legs sent to it, each
measured around that transfer alone, so one owner's intents share a batch freely (two may buy
one token, one may sell what another buys); only a direct leg between two orders of the same
owner is never made (:mod:`keeper.settlement.direct`: it would move nothing).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from keeper.chain.head import Head
from keeper.intents.types import DirectLeg, Execution, Interaction, Order, RebalanceIntent
from keeper.routing import Market, Route, RoutingError
from keeper.routing.calldata import route_interactions
from keeper.routing.netting import Fill, NettingResult, PairClearing, net
from keeper.routing.netting import Order as PairOrder
from keeper.settlement.credits import FeeCredits, apply_credits
from keeper.settlement.direct import OrderFlows, assign_direct_legs, spare_for_direct_legs
from keeper.settlement.gas import FeeQuote
from keeper.settlement.plan import Candidate, Plan
from keeper.settlement.replay import after_routes, route_pools
from keeper.settlement.transaction import Settlement
from keeper.units import format_units

MAX_ROUNDS = 12


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class NettingPlanner:
    """Plans settlements on a fresh pool snapshot each block.

    Args:
        executor / chain_id: where the settlement goes.
        snapshot: returns the routing :class:`Market` for the current block.
        snapshot_at: returns it for a given block number (used instead when given).
        usd_prices: token address -> reference USD price per whole token, used where the
            block's pools cannot price a token (weights and value).
        usd_token: the USD numeraire (e.g. USDC): each block, tokens are valued at their pool
            mid price in it (:meth:`prices`) instead of the reference prices. None: reference
            prices only.
        fee_gas_per_order / fee_markup_bps: the keeper's fee policy (:meth:`keeper_fee`). An
            intent that signs a ``maxFee`` in one of its sell tokens pays ``gas_per_order`` gas
            at the block's gas price (plus the markup), valued in that token, capped at
            ``maxFee``; it comes out of that sell leg before netting (the pull stays within the
            signed maximum). 0: no fee.
        decimals: token address -> decimals.
        swap_router: Uniswap V3 SwapRouter (needed only for V3 legs).
        safety_margin_bps: extra margin on every signed minimum.
        weth: the WETH address (gas is valued through it).
        direct_legs: send sell legs straight to a buyer of the batch where one can take them
            whole (one transfer instead of two); False: every leg through the executor.
        credit_source: owners -> wei of builder refunds each may have taken off its keeper
            fees (:mod:`keeper.settlement.credits`); None: no credits.
        symbols: token address -> symbol, for the reasons an owner reads.
    """

    def __init__(
        self,
        *,
        executor: str,
        chain_id: int,
        snapshot: Callable[[], Market],
        usd_prices: Mapping[str, float],
        decimals: Mapping[str, int],
        swap_router: str | None = None,
        safety_margin_bps: int = 10,
        weth: str | None = None,
        max_hops: int = 3,
        snapshot_at: Callable[[int], Market] | None = None,
        usd_token: str | None = None,
        fee_gas_per_order: int = 0,
        fee_markup_bps: int = 0,
        direct_legs: bool = True,
        credit_source: Callable[[Sequence[str]], Mapping[str, int]] | None = None,
        symbols: Mapping[str, str] | None = None,
    ) -> None:
        self.direct_legs = direct_legs
        self.credit_source = credit_source
        self.executor = executor
        self.chain_id = chain_id
        self.snapshot = snapshot
        #: the market at a given block (preferred when given: pinned to the cycle's head)
        self.snapshot_at = snapshot_at
        self.usd = {k.lower(): v for k, v in usd_prices.items()}
        self.usd_token = usd_token.lower() if usd_token else None
        self.fee_gas_per_order = fee_gas_per_order
        self.fee_markup_bps = fee_markup_bps
        self.decimals = {k.lower(): v for k, v in decimals.items()}
        self.symbols = {k.lower(): v for k, v in (symbols or {}).items()}
        self.swap_router = swap_router
        self.margin_bps = safety_margin_bps
        self.weth = weth
        self.max_hops = max_hops
        self._pool: ThreadPoolExecutor | None = None
        self._prefetched: tuple[int, Future[Market]] | None = None

    def value_usd(
        self, token: str, amount: int, prices: Mapping[str, float] | None = None
    ) -> float:
        """USD value of ``amount`` base units of ``token`` at ``prices`` (USD per whole token,
        lower-case addresses; default: the reference prices)."""
        key = token.lower()
        usd = (self.usd if prices is None else prices).get(key, 0.0)
        return amount / 10 ** self.decimals.get(key, 18) * usd

    def prices(self, market: Market) -> dict[str, float]:
        """USD per whole token on ``market``: each token's mid price in :attr:`usd_token`
        (through its deepest pools, as the router prices tokens), the reference price where
        the pools do not connect it to the numeraire (or without a numeraire)."""
        prices = dict(self.usd)
        if self.usd_token is None:
            return prices
        try:
            usd = market.token_position(self.usd_token, "usd_token")
        except RoutingError:  # the numeraire is not in this snapshot
            return prices
        usd_decimals = self.decimals.get(self.usd_token or "", 18)
        mids = market.mid_prices(usd).tolist()
        for token, mid in zip(market.tokens, mids, strict=True):
            key = token.lower()
            if key in self.decimals and mid == mid and mid > 0:  # not NaN
                prices[key] = mid * 10 ** (self.decimals[key] - usd_decimals)
        return prices

    def prefetch(self, head: Head) -> None:
        """Start reading the pools for ``head`` in the background (overlapping the caller's own
        reads, e.g. the on-chain pre-check); :meth:`plan` for the same head picks it up."""
        if self._prefetched is not None and self._prefetched[0] == head.number:
            return  # already under way
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pool-snapshot")
        self._prefetched = (head.number, self._pool.submit(self._read, head))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _market(self, head: Head) -> Market:
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None and prefetched[0] == head.number:
            return prefetched[1].result()
        return self._read(head)

    def _read(self, head: Head) -> Market:
        return self.snapshot_at(head.number) if self.snapshot_at else self.snapshot()

    def plan(self, batch: Sequence[Candidate], head: Head, fees: FeeQuote) -> Plan:
        started = time.perf_counter()
        market = self._market(head)
        snapshot_s = time.perf_counter() - started
        known = {t.address.lower() for t in market.snapshot.tokens}
        dropped: dict[str, str] = {}
        live: dict[str, RebalanceIntent] = {}
        for candidate in batch:
            intent = candidate.signed.intent
            unknown = [
                leg.token for leg in (*intent.sells, *intent.buys) if leg.token.lower() not in known
            ]
            if unknown:
                dropped[candidate.id] = f"no pool snapshot for token {unknown[0]}"
            else:
                live[candidate.id] = intent
        prices = self.prices(market)
        keeper_fees = {i: self.keeper_fee(v, fees, prices) for i, v in live.items()}
        credits = FeeCredits()
        if self.credit_source is not None and live:
            balances = self.credit_source(sorted({i.owner for i in live.values()}))
            credits = apply_credits(
                live, keeper_fees, balances, lambda wei, t: self.wei_in_token(wei, t, prices)
            )
        result: NettingResult | None = None
        for _ in range(MAX_ROUNDS):
            if not live:
                break
            pieces = [
                p
                for i, intent in live.items()
                for p in self._pieces(i, intent, prices, keeper_fees[i])
            ]
            try:
                result = self._net_in_sequence(market, pieces, fees)
            except RoutingError as err:
                for intent_id in live:
                    dropped[intent_id] = f"netting failed: {err}"
                live, result = {}, None
                break
            failing = {
                piece.split("#")[0]: self._why(piece, why, live, result.shortfalls)
                for piece, why in result.excluded.items()
            }
            if not failing:
                break
            dropped.update(failing)
            live = {i: v for i, v in live.items() if i not in failing}
            result = None
        netted = time.perf_counter()
        timings = {"snapshot": snapshot_s, "net": netted - started - snapshot_s}
        if not live or result is None:
            return Plan(None, dropped, timings=timings)
        plan = self._settlement(live, batch, result, dropped, prices, keeper_fees, credits)
        plan.timings.update(timings, build=time.perf_counter() - netted)
        return plan

    def _net_in_sequence(
        self, market: Market, pieces: Sequence[PairOrder], fees: FeeQuote
    ) -> NettingResult:
        """Net pair by pair, each residual quoted on the pools as earlier residuals leave them.

        A pair is netted on the current market; only if its route touches a pool that an
        earlier route moved (and the current market does not show that yet) is the market
        rebuilt with those routes applied and the pair netted again. Disjoint routes, the
        common case, cost nothing extra.
        """
        by_pair: dict[frozenset[str], list[PairOrder]] = defaultdict(list)
        for piece in pieces:
            by_pair[frozenset((piece.sell_token.lower(), piece.buy_token.lower()))].append(piece)
        gas_price = fees.base_fee + fees.max_priority_fee
        fills: list[Fill] = []
        excluded: dict[str, str] = {}
        shortfalls: dict[str, tuple[int, int]] = {}
        clearings: list[PairClearing] = []
        pending: list[Route] = []  # routes not yet applied to ``market``
        for group in by_pair.values():
            result = net(market, group, gas_price, max_hops=self.max_hops)
            if pending and route_pools(result.residual_routes) & route_pools(pending):
                market = Market(after_routes(market.snapshot, pending))
                pending = []
                result = net(market, group, gas_price, max_hops=self.max_hops)
            fills.extend(result.fills)
            excluded.update(result.excluded)
            shortfalls.update(result.shortfalls)
            clearings.extend(result.clearings)
            pending.extend(result.residual_routes)
        return NettingResult(tuple(fills), excluded, tuple(clearings), shortfalls)

    def _why(
        self,
        piece: str,
        why: str,
        live: Mapping[str, RebalanceIntent],
        shortfalls: Mapping[str, tuple[int, int]],
    ) -> str:
        """A piece's exclusion reason for its owner: amounts in whole tokens with symbols, and
        the minimum the owner signed (not the piece's share plus the keeper's safety margin)."""
        intent_id, _, legs = piece.partition("#")
        intent = live.get(intent_id)
        if piece not in shortfalls or intent is None or "." not in legs:
            return why
        got, piece_minimum = shortfalls[piece]
        buy = intent.buys[int(legs.split(".")[1])]
        key = buy.token.lower()
        decimals, symbol = self.decimals.get(key, 18), self.symbols.get(key, buy.token[:10])
        if len(intent.sells) == 1:
            mine = f"your minimum {format_units(buy.amount, decimals)} {symbol}"
        else:  # a multi-leg intent: this sell leg's share of the signed minimum
            share = piece_minimum * 10_000 // (10_000 + self.margin_bps)
            mine = (
                f"this leg's share {format_units(share, decimals)} {symbol} of your minimum "
                f"{format_units(buy.amount, decimals)} {symbol}"
            )
        return (
            f"limit not met: would receive {format_units(got, decimals)} {symbol} < {mine} "
            f"(at this block's prices, with the keeper's {self.margin_bps / 100:g}% safety margin)"
        )

    def keeper_fee(
        self, intent: RebalanceIntent, fees: FeeQuote, prices: Mapping[str, float]
    ) -> tuple[int, int]:
        """The fee this intent pays the keeper: ``(index of the sell leg it comes out of, fee
        in that token)``; ``(-1, 0)`` when the policy is off, the intent signs no fee, its fee
        token is not one of its sells, or the pools cannot price it."""
        if not self.fee_gas_per_order or not intent.max_fee:
            return -1, 0
        leg = next(
            (k for k, s in enumerate(intent.sells) if s.token.lower() == intent.fee_token.lower()),
            None,
        )
        token_usd = prices.get(intent.fee_token.lower(), 0.0)
        eth_usd = prices.get((self.weth or "").lower(), 0.0)
        if leg is None or token_usd <= 0 or eth_usd <= 0:
            return -1, 0
        wei = fees.cost(self.fee_gas_per_order) * (10_000 + self.fee_markup_bps) // 10_000
        decimals = self.decimals.get(intent.fee_token.lower(), 18)
        fee = int(wei / 1e18 * eth_usd / token_usd * 10**decimals)
        # never the whole leg: what is left must still trade (a fee that eats the trade makes
        # the buy minimum fail and the intent is dropped with that reason)
        fee = min(fee, intent.max_fee, intent.sells[leg].amount // 2)
        return (leg, fee) if fee > 0 else (-1, 0)

    def wei_in_token(self, wei: int, token: str, prices: Mapping[str, float]) -> int:
        """``wei`` of ETH in base units of ``token`` at ``prices`` (rounded down), as fees are."""
        token_usd = prices.get(token.lower(), 0.0)
        eth_usd = prices.get((self.weth or "").lower(), 0.0)
        if token_usd <= 0 or eth_usd <= 0:
            return 0
        decimals = self.decimals.get(token.lower(), 18)
        return int(wei / 1e18 * eth_usd / token_usd * 10**decimals)

    def _pieces(
        self,
        intent_id: str,
        intent: RebalanceIntent,
        prices: Mapping[str, float],
        keeper_fee: tuple[int, int] = (-1, 0),
    ) -> list[PairOrder]:
        """Split a multi-leg intent into pairwise orders (sell i -> buy j).

        Each sell's maximum is shared among the buys by their USD value and each buy's minimum
        among the sells by theirs, in integer arithmetic with the last piece taking the
        remainder: the pieces of a sell add up to exactly its signed maximum (never more), and
        the pieces of a buy to exactly its signed minimum (before the safety margin).
        """
        margin = 10_000 + self.margin_bps
        fee_leg, fee = keeper_fee
        sells = [s.amount - (fee if k == fee_leg else 0) for k, s in enumerate(intent.sells)]
        sell_weights = _weights(
            [self.value_usd(s.token, a, prices) for s, a in zip(intent.sells, sells, strict=True)]
        )
        buy_weights = _weights([self.value_usd(b.token, b.amount, prices) for b in intent.buys])
        amounts = [_split(a, buy_weights) for a in sells]  # [i][j]
        minimums = [_split(b.amount, sell_weights) for b in intent.buys]  # [j][i]
        pieces = []
        for i, sell in enumerate(intent.sells):
            for j, buy in enumerate(intent.buys):
                amount = amounts[i][j]
                minimum = _ceil_div(minimums[j][i] * margin, 10_000)
                if amount > 0:
                    pieces.append(
                        PairOrder(f"{intent_id}#{i}.{j}", sell.token, buy.token, amount, minimum)
                    )
        return pieces

    def _settlement(
        self,
        live: dict[str, RebalanceIntent],
        batch: Sequence[Candidate],
        result: NettingResult,
        dropped: dict[str, str],
        prices: Mapping[str, float],
        keeper_fees: Mapping[str, tuple[int, int]],
        credits: FeeCredits | None = None,
    ) -> Plan:
        sold: dict[str, list[int]] = {i: [0] * len(v.sells) for i, v in live.items()}
        bought: dict[str, list[int]] = {i: [0] * len(v.buys) for i, v in live.items()}
        for fill in result.fills:
            intent_id, legs = fill.order_id.split("#")
            i, j = (int(x) for x in legs.split("."))
            sold[intent_id][i] += fill.sell_amount
            bought[intent_id][j] += fill.buy_amount
        charged: dict[str, int] = {}
        for intent_id in live:
            fee_leg, fee = keeper_fees.get(intent_id, (-1, 0))
            if fee:  # pulled with the leg, paid to the keeper by the executor
                sold[intent_id][fee_leg] += fee
                charged[intent_id] = fee
        signatures = {c.id: c.signed.signature for c in batch}
        ids = [c.id for c in batch if c.id in live]
        sell_to: list[list[DirectLeg | None]] = [[] for _ in ids]
        delivered = [bought[i] for i in ids]  # what the executor itself transfers
        if self.direct_legs:
            pulled: dict[str, int] = defaultdict(int)
            for intent_id in ids:
                for leg, amount in zip(live[intent_id].sells, sold[intent_id], strict=True):
                    pulled[leg.token.lower()] += amount
            swaps = [
                (r.sell_token, r.amount_in, r.buy_token, r.amount_out)
                for r in result.residual_routes
            ]
            direct = assign_direct_legs(
                [
                    OrderFlows(
                        owner=live[i].owner,
                        sells=[
                            (leg.token, a) for leg, a in zip(live[i].sells, sold[i], strict=True)
                        ],
                        buys=[
                            (leg.token, a) for leg, a in zip(live[i].buys, bought[i], strict=True)
                        ],
                    )
                    for i in ids
                ],
                routed={(n, keeper_fees[i][0]) for n, i in enumerate(ids) if charged.get(i)},
                limits=spare_for_direct_legs(pulled, swaps),
            )
            sell_to, delivered = direct.sell_to, direct.buy_amounts
        orders = tuple(
            Order(
                intent=live[i],
                signature=signatures[i],
                execution=Execution(
                    sell_amounts=sold[i],
                    buy_amounts=delivered[n],
                    fee=charged.get(i, 0),
                    sell_to=sell_to[n] if any(t is not None for t in sell_to[n]) else (),
                ),
            )
            for n, i in enumerate(ids)
        )
        interactions: list[Interaction] = []
        for route in result.residual_routes:
            for call in route_interactions(route, self.executor, swap_router=self.swap_router):
                interactions.append(
                    Interaction(target=call.target, value=call.value, call_data=call.call_data)
                )
        notional = sum(
            self.value_usd(leg.token, amount, prices)
            for i in ids
            for leg, amount in zip(live[i].sells, sold[i], strict=True)
        )
        settlement = Settlement(
            executor=self.executor,
            chain_id=self.chain_id,
            orders=orders,
            interactions=tuple(interactions),
            intent_ids=tuple(ids),
            # what each owner is expected to receive in all: direct legs + executor delivery
            quoted={i: tuple(bought[i]) for i in ids},
            credits={i: w for i, w in credits.wei.items() if i in ids} if credits else {},
            credit_units={i: u for i, u in credits.units.items() if i in ids} if credits else {},
        )
        eth_usd = prices.get((self.weth or "").lower(), 0.0)
        return Plan(
            settlement,
            dropped,
            notional_usd=notional,
            eth_usd=eth_usd,
            routes=result.residual_routes,
            clearings=result.clearings,
        )


def describe_prices(market: Any) -> tuple[dict[str, float], dict[str, int]]:
    """Reference USD prices and decimals of a :class:`keeper.market.deployments.Market`."""
    return (
        {t.address: float(t.usd_price) for t in market.tokens},
        {t.address: int(t.decimals) for t in market.tokens},
    )


#: resolution of the USD-value weights used to split a multi-leg intent (1e-9 relative)
_WEIGHT_SCALE = 10**9


def _weights(values: Sequence[float]) -> list[int]:
    """Non-negative integer weights proportional to ``values`` (equal when all are zero)."""
    total = sum(max(v, 0.0) for v in values)
    if total <= 0:
        return [1] * len(values)
    return [int(max(v, 0.0) / total * _WEIGHT_SCALE) for v in values]


def _split(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split by integer ``weights``; the last part takes the remainder, so the
    parts sum to exactly ``amount``."""
    total = sum(weights)
    if total == 0:
        weights, total = [1] * len(weights), len(weights)
    parts = [amount * w // total for w in weights[:-1]]
    return [*parts, amount - sum(parts)]
