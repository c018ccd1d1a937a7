"""What a rebalance costs in the backtest: one class per cost term, each switchable.

Every term maps the signed USD trades of one rebalance on bar ``t`` (``+`` buy, ``-`` sell,
one entry per token) to dollars. :class:`CostModel` sums the terms into the four kinds the
report shows (gas, LP fees, price impact, MEV) and is also the live engine's
:class:`~keeper.strategy.costs.CostEstimator` for strategy files, so the cost gate sees the
same dollars the replay charges.

Sources of the numbers (docs/BACKTESTS.md): the executor's measured settlement gas
(docs/BENCHMARKS.md, "Executor"), the routing engine's exact Uniswap V2/V3 integer math
(``keeper.routing.v2math``/``v3math``) on a pool profile, and the sandwich bench's finding that
a public swap loses its whole slippage tolerance while a private one loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.pools import PoolProfile, leg_loss_usd
from keeper.strategy.costs import CostEstimate
from keeper.strategy.proposals import pair_trades

FloatArray = NDArray[np.float64]
KINDS = ("gas", "fees", "impact", "mev")
GAS, FEES, IMPACT, MEV = range(4)

# -- the executor's measured gas (docs/BENCHMARKS.md, "Executor", run of 2026-11-25) ----------
#: 2 netted intents in one settle, nonce word in use: 123,733 gas
TWO_NETTED_INTENTS_GAS = 123_733
#: one more 1-leg intent, nonce word in use, finite vault allowance
INTENT_GAS = 42_950
#: a 1-intent batch whose counter-flow is one Router02 swap (approve + swap interactions)
ONE_INTENT_ONE_SWAP_GAS = 226_776
#: what a batch costs before any intent (21,000 transaction base, settle's fixed work)
BATCH_GAS = TWO_NETTED_INTENTS_GAS - 2 * INTENT_GAS  # 37,833
#: one AMM interaction (approve + swap) inside a batch
AMM_SWAP_GAS = ONE_INTENT_ONE_SWAP_GAS - BATCH_GAS - INTENT_GAS  # 145,993

# -- the share of a user's flow netted against other users (docs/BACKTESTS.md, "netting") ----
#: measured by the keeper bench (``make bench BENCH=keeper``, run of 2026-12-06, 11:24 UTC;
#: docs/BENCHMARKS.md, "Keeper"): its 20-user mixed rebalance (synthetic: random
#: WETH/WBTC/USDC portfolios of $20k-120k each, all back to equal weights) settled in one batch
#: with $346,253 of the $382,950 users sold (90.4 %) delivered to users on the other side and
#: $36,698 routed through pools (``keeper.routing.netting.netted_flow`` on the settled plan).
#: That flow mix is synthetic and opposed by construction: users who rebalance similar targets
#: after the same price move all trade one way and net far less. ``netted=0`` (a lone user) is
#: the conservative bound; the share of a real user base depends on its flow mix.
BENCH_NETTED_SHARE = 0.904


class CostTerm(Protocol):
    @property
    def kind(self) -> int:
        """The :data:`KINDS` index this term's dollars count under."""
        ...

    def cost(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> float:
        """Dollars this term charges for ``trades`` (USD per token) at bar ``t``."""
        ...


@dataclass(frozen=True)
class ProportionalFee:
    """``rate * sum_i |trade_i|`` dollars (a plain commission on both sides, as ``bt``'s
    ``|q| p f``)."""

    rate: float
    kind: int = FEES

    def cost(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> float:
        return self.rate * float(np.abs(trades).sum())


@dataclass(frozen=True)
class RecordedCost:
    """Dollars that were paid, by bar: ``usd[t]`` on bar ``t`` whatever the trades (a replay of
    recorded trades charges what their settlements cost; counted under ``kind``)."""

    kind: int
    usd: dict[int, float]

    def cost(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> float:
        return self.usd.get(t, 0.0)


@dataclass(frozen=True)
class GasSeries:
    """Gas price (gwei) and ETH price (USD) per bar."""

    gwei: FloatArray
    eth_usd: FloatArray

    @classmethod
    def default(cls, bars: int, eth_usd: FloatArray | float, seed: int = 11) -> GasSeries:
        """A lognormal gas price per bar: median 10 gwei, log-sd 0.8 (5th-95th percentile
        ~2.7-37 gwei), seeded; ETH at the table's WETH close (or a constant)."""
        rng = np.random.default_rng(seed)
        gwei = 10.0 * np.exp(0.8 * rng.standard_normal(bars))
        eth = np.broadcast_to(np.asarray(eth_usd, dtype=np.float64), (bars,)).copy()
        return cls(gwei, eth)


@dataclass(frozen=True)
class SettlementGas:
    """Settlement gas of one user's rebalance, in USD::

        gas = BATCH_GAS / batch_users + INTENT_GAS * pairs
              + AMM_SWAP_GAS * pools * (1 - netted)
        usd = gas * gwei_t * 1e-9 * eth_usd_t

    ``pairs`` is the number of sell->buy intents (``pair_trades``), ``pools`` the tokens whose
    flow must cross a pool (every traded token but the numeraire); ``netted`` is the expected
    share of the user's flow matched against other users (no AMM interaction needed);
    ``batch_users`` how many users share one settlement's fixed cost.
    """

    series: GasSeries
    numeraire: str = "USDC"
    netted: float = 0.0
    batch_users: float = 1.0
    kind: int = GAS

    def units(self, tokens: tuple[str, ...], trades: FloatArray) -> float:
        traded = {k: float(v) for k, v in zip(tokens, trades, strict=True) if abs(v) > 1e-9}
        if not traded:
            return 0.0
        pairs = max(1, len(pair_trades(traded)))
        pools = sum(1 for k in traded if k != self.numeraire)
        return (
            BATCH_GAS / self.batch_users
            + INTENT_GAS * pairs
            + AMM_SWAP_GAS * pools * (1.0 - self.netted)
        )

    def cost(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> float:
        units = self.units(tokens, trades)
        return units * float(self.series.gwei[t]) * 1e-9 * float(self.series.eth_usd[t])


@dataclass(frozen=True)
class FixedGas:
    """A fixed ``usd`` per rebalance (sweeps and hand-checkable tests)."""

    usd: float
    kind: int = GAS

    def cost(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> float:
        return self.usd if np.any(np.abs(trades) > 1e-9) else 0.0


@dataclass(frozen=True)
class PoolExecution:
    """LP fees and price impact from the routing engine's exact V2/V3 math.

    Every sold dollar crosses the sold token's pool against the numeraire, every bought dollar
    the bought token's pool; the numeraire itself crosses none. Only ``1 - netted`` of each
    flow reaches a pool. A leg's loss is ``usd_in - usd_out`` at the bar's close; the fee part
    is ``fee * usd_in``, the rest is price impact (``pools.leg_loss_usd``). The pools are
    re-centred on the bar's price with the profile's USD depth (liquidity scaled, not
    replayed).
    """

    profiles: dict[str, PoolProfile]
    numeraire: str = "USDC"
    netted: float = 0.0
    kind: int = FEES
    fee_kind: int = FEES
    impact_kind: int = IMPACT

    def split(
        self, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> tuple[float, float]:
        fees = impact = 0.0
        for k, usd, px in zip(tokens, trades, prices, strict=True):
            amount = abs(float(usd)) * (1.0 - self.netted)
            if k == self.numeraire or amount < 0.01:
                continue
            f, i = leg_loss_usd(self.profiles[k], float(px), amount, sell=usd < 0)
            fees += f
            impact += i
        return fees, impact

    def cost(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> float:
        return sum(self.split(tokens, trades, prices))


@dataclass(frozen=True)
class MevLoss:
    """Sandwich loss: 0 through the private relay; sent publicly, a swap loses its whole
    slippage tolerance (``make bench BENCH=sandwich``)::

        mev = slippage * sum_i |trade_i| * (1 - netted)     (numeraire legs excluded)
    """

    private: bool = True
    slippage: float = 0.005
    numeraire: str = "USDC"
    netted: float = 0.0
    kind: int = MEV

    def cost(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> float:
        if self.private:
            return 0.0
        routed = sum(
            abs(float(v)) for k, v in zip(tokens, trades, strict=True) if k != self.numeraire
        )
        return self.slippage * routed * (1.0 - self.netted)


@dataclass(frozen=True)
class CostModel:
    """A list of switchable terms; ``label`` says which in the report."""

    terms: tuple[CostTerm, ...] = ()
    label: str = "no costs"

    def breakdown(
        self, t: int, tokens: tuple[str, ...], trades: FloatArray, prices: FloatArray
    ) -> FloatArray:
        """Dollars by kind (:data:`KINDS`) for one rebalance."""
        out = np.zeros(len(KINDS))
        for term in self.terms:
            if isinstance(term, PoolExecution):
                f, i = term.split(tokens, trades, prices)
                out[term.fee_kind] += f
                out[term.impact_kind] += i
            else:
                out[term.kind] += term.cost(t, tokens, trades, prices)
        return out

    @property
    def proportional_rate(self) -> float | None:
        """The rate when the model is one proportional fee and nothing else (``bt`` mode)."""
        if len(self.terms) == 1 and isinstance(self.terms[0], ProportionalFee):
            return self.terms[0].rate
        return 0.0 if not self.terms else None

    def estimator(self, t: int, tokens: tuple[str, ...], prices: FloatArray) -> BarEstimator:
        return BarEstimator(self, t, tokens, prices)


@dataclass(frozen=True)
class BarEstimator:
    """The model at one bar, behind the strategy layer's ``CostEstimator`` seam."""

    model: CostModel
    t: int
    tokens: tuple[str, ...]
    prices: FloatArray

    def estimate(self, trades_usd: dict[str, float]) -> CostEstimate:
        tokens = tuple(self.tokens)
        vec = np.zeros(len(tokens))
        for k, v in trades_usd.items():
            vec[tokens.index(k)] += v
        b = self.model.breakdown(self.t, tokens, vec, self.prices)
        return CostEstimate(float(b[GAS]), float(b[FEES]), float(b[IMPACT] + b[MEV]))


def onchain_costs(
    tokens: tuple[str, ...],
    series: GasSeries,
    profiles: dict[str, PoolProfile],
    netted: float = BENCH_NETTED_SHARE,
    private: bool = True,
    slippage: float = 0.005,
    batch_users: float = 1.0,
    gas: bool = True,
    pools: bool = True,
    mev: bool = True,
    numeraire: str = "USDC",
) -> CostModel:
    """The system's own costs (each switchable): settlement gas, pool execution, MEV."""
    terms: list[CostTerm] = []
    parts = []
    if gas:
        terms.append(SettlementGas(series, numeraire, netted, batch_users))
        parts.append("settlement gas")
    if pools:
        terms.append(PoolExecution(profiles, numeraire, netted))
        parts.append("LP fees + impact (V2/V3 math)")
    if mev:
        terms.append(MevLoss(private, slippage, numeraire, netted))
        parts.append(
            "private relay (no MEV)" if private else f"public mempool ({slippage:.2%} MEV)"
        )
    label = ", ".join(parts) or "no costs"
    if netted:
        label += f", {netted:.0%} netted"
    return CostModel(tuple(terms), label)


def proportional_costs(rate: float) -> CostModel:
    return CostModel((ProportionalFee(rate),), f"proportional {rate:.2%} of traded value")


def median_gas_usd(model: CostModel, tokens: tuple[str, ...], pairs: int = 1) -> float:
    """Typical settlement gas of a ``pairs``-intent rebalance, for the report."""
    for term in model.terms:
        if isinstance(term, SettlementGas):
            units = (
                BATCH_GAS / term.batch_users + INTENT_GAS * pairs + AMM_SWAP_GAS * (1 - term.netted)
            )
            return (
                units
                * float(np.median(term.series.gwei))
                * 1e-9
                * float(np.median(term.series.eth_usd))
            )
    return 0.0
