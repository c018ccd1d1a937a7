"""Response models: one set, used by the JSON API and rendered by the HTML pages."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """An error answer: ``{"detail": "<field>: <what was expected>"}``."""

    detail: str


class Amount(BaseModel):
    symbol: str
    amount: float  # whole tokens
    limit: float | None = None  # signed maximum (sell) or minimum (buy), whole tokens
    usd: float | None = None


class TokenWeight(BaseModel):
    symbol: str
    amount: float
    value_usd: float
    price_usd: float
    weight: float
    target: float
    band_low: float
    band_high: float
    drift: float
    outside_band: bool


class SignalView(BaseModel):
    trigger: str
    kind: str
    fired: bool
    reason: str


class IntentView(BaseModel):
    id: str
    owner: str
    nonce: str
    state: str
    reason: str | None
    sells: list[Amount]
    buys: list[Amount]
    attempts: int
    tx_hash: str | None
    created_at: float
    updated_at: float


class FillView(BaseModel):
    tx_hash: str
    intent_id: str | None
    owner: str
    block: int
    time: int
    sold: list[Amount]
    received: list[Amount]
    #: buy per sell, whole units, for a one-sell one-buy intent (else None)
    limit_price: float | None
    execution_price: float | None
    pair: str | None
    surplus_usd: float  # value received above the signed minima
    fee: Amount | None
    gas_share: int
    gas_usd: float
    blocks_to_inclusion: int | None
    cost_usd: float  # sold - received at the block's mid prices (fee included)
    savings_usd: float  # vs one transaction of this user through our own router
    router02_savings_usd: float  # vs one Router02 transaction per leg


class EventView(BaseModel):
    at: float
    kind: str
    explanation: str


class Opportunity(BaseModel):
    venue: str
    apy: float
    gap: float
    threshold: float
    liquidity_usd: float
    eligible: bool


class RiskView(BaseModel):
    days: int
    volatility: float | None
    var: float | None
    cvar: float | None
    level: float
    max_drawdown: float | None
    sharpe: float | None
    ewma_volatility: float | None
    correlation_shift: float | None
    correlation_shifted: bool
    note: str


class MetricsView(BaseModel):
    """The backtester's metrics (keeper.backtest.metrics) of one value path; fractions."""

    total_return: float = Field(description="V_end / V_start - 1 over the window")
    volatility: float | None = Field(
        description="annualised sd of simple daily returns (None: fewer than 5 samples)"
    )
    max_drawdown: float = Field(description="largest fall from a peak, positive")
    sharpe: float | None = Field(description="annualised, risk-free rate 0")
    var95: float | None = Field(description="one-day historical VaR at 95 %, positive = loss")
    cvar95: float | None = Field(description="mean one-day loss beyond the VaR")


class AttributionLog(BaseModel):
    """keeper.backtest.result.attribution: log(rebalanced / buy-and-hold) = drift avoided +
    rebalancing premium + costs (log points)."""

    total: float
    drift_avoided: float
    premium: float
    costs: float


class CostsPaid(BaseModel):
    """What the window's settlements cost the owner, USD at the time they were paid."""

    keeper_fees_usd: float = Field(description="keeper fees before builder-refund credits")
    refunds_credited_usd: float = Field(description="builder refunds taken off those fees")
    lp_fees_and_impact_usd: float = Field(
        description="sold - received - fee at the block's mid prices (LP fees, price impact)"
    )
    block_to_close_usd: float = Field(
        description="the traded amounts' price move from the block to the bar's close"
    )
    total_usd: float = Field(
        description="value given up at the bars' closes: fees - credits + the two above"
    )
    surplus_usd: float = Field(description="received above the signed minima (included above)")
    keeper_gas_usd: float = Field(
        description="gas of the owner's share, paid by the keeper (not the owner's cost)"
    )


class PerformanceAttribution(BaseModel):
    """Rebalanced (the recorded settlements) vs buy-and-hold of the holdings at the start of
    the window, replayed by the backtester on the recorded daily closes plus a bar now. When
    the window is too short, only ``samples`` and ``note`` are set."""

    samples: int = Field(description="price samples in the window (daily closes + now)")
    note: str = Field("", description="why there are no numbers, or a caveat")
    start: int | None = Field(None, description="unix time of the first sample")
    end: int | None = Field(None, description="unix time of the last sample (now)")
    rebalanced: MetricsView | None = None
    buy_and_hold: MetricsView | None = None
    start_usd: float | None = None
    rebalanced_usd: float | None = Field(None, description="value now (the recorded holdings)")
    buy_and_hold_usd: float | None = Field(None, description="value now of the start holdings")
    difference_usd: float | None = Field(None, description="rebalanced - buy-and-hold")
    rebalancing_effect_usd: float | None = Field(
        None, description="the same trades without costs - buy-and-hold"
    )
    costs_effect_usd: float | None = Field(
        None, description="rebalanced - the same trades without costs (<= 0)"
    )
    log_points: AttributionLog | None = None
    costs_paid: CostsPaid | None = None
    settlements: int = Field(0, description="settled fills of the owner in the window")
    #: (unix time, rebalanced USD, buy-and-hold USD) per sample
    curve: list[tuple[int, float, float]] = Field(default_factory=list)


class Performance(BaseModel):
    rebalances: int
    traded_usd: float
    cost_usd: float  # total given up at mid prices (fees included)
    fees_usd: float
    gas_usd: float  # the keeper's gas share of this owner's settlements (paid by the keeper)
    savings_usd: float
    router02_savings_usd: float
    attribution: PerformanceAttribution


class NextRebalance(BaseModel):
    when: str
    why: str


class PortfolioView(BaseModel):
    owner: str
    block: int
    value_usd: float
    paused: bool
    weights: list[TokenWeight]
    band: float
    max_drift: float
    #: the largest drift as a share of the band (1.0 = at the trigger)
    drift_vs_trigger: float
    frequency: str
    decision: str
    rebalance_now: bool
    next_rebalance: NextRebalance
    cost_now_usd: float
    cost_breakdown: dict[str, float]
    waiting_cost_usd: float
    horizon_days: float
    signals: list[SignalView]
    pending: list[IntentView]
    history: list[FillView]
    events: list[EventView]
    performance: Performance
    risk: RiskView
    opportunities: list[Opportunity]
    opportunity_threshold: float
    reports: list[str]


class TokenFlow(BaseModel):
    symbol: str
    sold: float
    received: float
    to_pools: float
    from_pools: float
    netted: float


class PoolSwap(BaseModel):
    pool: str
    dex: str
    fee: int
    token_in: str
    amount_in: float
    token_out: str
    amount_out: float


class SettlementView(BaseModel):
    tx_hash: str
    bundle_hash: str | None
    block: int
    time: int
    gas_used: int
    gas_price_gwei: float
    gas_usd: float
    blocks_to_inclusion: int | None
    orders: list[FillView]
    flows: list[TokenFlow]
    swaps: list[PoolSwap]
    cost_usd: float
    savings_usd: float
    router02_savings_usd: float


class SettlementSummary(BaseModel):
    tx_hash: str
    block: int
    time: int
    orders: int
    gas_used: int
    gas_usd: float
    savings_usd: float


class InFlightView(BaseModel):
    tx_hash: str
    bundle_hash: str
    intents: int
    last_block: int


class KeeperView(BaseModel):
    chain_id: int
    executor: str
    block: int | None
    block_age_s: float | None
    live: bool  # the daemon runs in this process (keeper run), else store-only
    paper: bool | None
    halted: bool | None
    halt_reason: str | None
    failures_in_window: int | None
    failure_budget: int | None
    cycle_seconds_last: float | None
    cycle_seconds_mean: float | None
    cycles: int | None
    bundles: dict[str, int]
    acceptance_rate: float | None  # sends the relay accepted / sends
    inclusion_rate: float | None  # bundles included / (included + missed)
    in_flight: list[InFlightView]
    intents_by_state: dict[str, int]
    settlements: list[SettlementSummary]


class ControlAnswer(BaseModel):
    owner: str
    action: str
    paused: bool
    manual_requested: bool
    target_overrides: dict[str, float] | None
