"""The portfolio view: the owner's strategy evaluated on the live chain, plus what the store
and the ledger hold about them (pending intents, history, decisions, performance, risk).

The evaluation is the one ``keeper portfolio show`` / ``keeper propose`` run (same code, same
numbers). It reads the price history without recording into it (a page view changes nothing),
and journals the decision's one-line explanation into the ledger when it differs from the
last one journaled, so the decision log has a line per change, not per page view.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import numpy as np

from keeper.dashboard.context import DashboardContext
from keeper.dashboard.forecast import cost_of_waiting
from keeper.dashboard.models import (
    EventView,
    NextRebalance,
    Opportunity,
    Performance,
    PortfolioView,
    RiskView,
    SignalView,
    TokenWeight,
)
from keeper.dashboard.performance import DAY, LiveHistory, LiveTrade, attribute
from keeper.dashboard.risk import risk_metrics
from keeper.dashboard.views import fill_view, history, pending_intents
from keeper.exceptions import KeeperError


class ChainUnavailableError(KeeperError):
    """The page needs the chain and the dashboard has no connection (HTTP 503)."""


def _market_data(ctx: DashboardContext, cfg: Any, base: Any) -> tuple[Any, int | None]:
    """The evaluation's market data, and the UTC day its daily closes end on."""
    from keeper.strategy.live.evaluation import history_for, strategy_symbols
    from keeper.strategy.live.yields import source_from_config
    from keeper.strategy.market_data import MarketData

    tokens: tuple[str, ...] = ()
    prices = None
    last_day = None
    history = history_for(cfg, base, None, ctx.chain_id)
    if history is not None:
        symbols = strategy_symbols(cfg)
        closes = history.daily_prices(symbols)
        if closes.shape[0]:
            tokens, prices = tuple(symbols), closes
            last_day = history.last_day(symbols)
    yields: tuple[Any, ...] = ()
    opportunity = cfg.triggers.opportunity
    if opportunity.enabled and opportunity.source:
        yields = tuple(source_from_config(opportunity.source, base, ctx.w3).quotes())
    return MarketData(tokens=tokens, prices=prices, yields=yields), last_day


def _next_rebalance(ev: Any, state: Any, max_drift: float) -> NextRebalance:
    from keeper.strategy.triggers.calendar import next_due

    if state.paused:
        return NextRebalance(when="paused", why="the owner paused the strategy")
    if ev.decision.rebalance:
        return NextRebalance(when="now", why=ev.decision.explanation)
    band = f"or earlier when a weight drifts past ±{ev.band:.1%} (largest now {max_drift:.1%})"
    if state.last_rebalance is None:
        return NextRebalance(
            when="at the first calendar check",
            why=f"no rebalance yet; cost gate decides: {ev.decision.explanation}; {band}",
        )
    due = next_due(state.last_rebalance, ev.frequency)
    return NextRebalance(
        when=due.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        why=f"{ev.frequency.value} calendar (last {state.last_rebalance:%Y-%m-%d}); {band}",
    )


def _journal(ctx: DashboardContext, owner: str, ev: Any, proposal: Any) -> None:
    line = ev.explanation
    key = owner.lower()
    if ctx.journaled.get(key) is None:
        last = ctx.ledger.events(owner, limit=1)
        ctx.journaled[key] = last[0].explanation if last else ""
    if ctx.journaled[key] == line:
        return
    kind = "proposal" if proposal is not None else "decision"
    data: dict[str, Any] = {"rebalance": ev.decision.rebalance}
    if proposal is not None:
        data["summary"] = proposal.summary()
    ctx.ledger.add_event(owner, kind, line, data)
    ctx.journaled[key] = line


def portfolio_view(ctx: DashboardContext, owner: str) -> PortfolioView:
    from keeper.strategy.config import load_strategy
    from keeper.strategy.controls import ControlStore
    from keeper.strategy.live.evaluation import propose_live

    entry = ctx.owner(owner)
    if ctx.w3 is None or ctx.market is None:
        raise ChainUnavailableError("rpc_url: the dashboard has no chain connection")
    cfg = load_strategy(entry.strategy)
    state = ControlStore(entry.state).load()
    data, last_day = _market_data(ctx, cfg, entry.strategy.parent)
    block = ctx.w3.eth.get_block("latest")
    result = propose_live(
        ctx.w3, ctx.market, cfg, entry.owner, ctx.executor, state, nonce=0, market_data=data
    )
    ev, pf = result.evaluation, result.portfolio
    _journal(ctx, entry.owner, ev, result.proposal)
    weights = pf.weights
    values = pf.values_usd
    rows = []
    for symbol in sorted(set(weights) | set(ev.targets)):
        w, t = weights.get(symbol, 0.0), ev.targets.get(symbol, 0.0)
        token = pf.tokens.get(symbol)
        amount = pf.balances.get(symbol, 0) / 10 ** (token.decimals if token else 18)
        rows.append(
            TokenWeight(
                symbol=symbol, amount=amount, value_usd=values.get(symbol, 0.0),
                price_usd=pf.prices_usd.get(symbol, 0.0), weight=w, target=t,
                band_low=max(0.0, t - ev.band), band_high=min(1.0, t + ev.band),
                drift=w - t, outside_band=abs(w - t) > ev.band,
            )
        )  # fmt: skip
    max_drift = max((abs(r.drift) for r in rows), default=0.0)
    waiting = cost_of_waiting(cfg, weights, ev.targets, pf.value_usd, data, _estimator(ctx, pf))
    cost = waiting.now
    fills = history(ctx, entry.owner)
    risk = _risk(data, pf)
    perf = _performance(ctx, entry.owner, fills, data, last_day, int(block["timestamp"]), pf)
    gap = cfg.triggers.opportunity.min_yield_gap
    current = _current_apy(data.yields, weights)
    opportunities = [
        Opportunity(
            venue=q.venue, apy=q.apy, gap=q.apy - current, threshold=gap,
            liquidity_usd=q.liquidity_usd,
            eligible=q.apy - current >= gap
            and q.liquidity_usd >= cfg.triggers.opportunity.min_liquidity_usd,
        )
        for q in sorted(data.yields, key=lambda q: -q.apy)
    ]  # fmt: skip
    return PortfolioView(
        owner=entry.owner,
        block=int(block["number"]),
        value_usd=pf.value_usd,
        paused=state.paused,
        weights=rows,
        band=ev.band,
        max_drift=max_drift,
        drift_vs_trigger=max_drift / ev.band if ev.band else 0.0,
        frequency=ev.frequency.value,
        decision=ev.explanation,
        rebalance_now=ev.decision.rebalance,
        next_rebalance=_next_rebalance(ev, state, max_drift),
        cost_now_usd=cost.total_usd,
        cost_breakdown={
            "gas": cost.gas_usd,
            "fees": cost.fees_usd,
            "impact": cost.impact_usd,
            "tax": cost.tax_usd,
        },
        waiting_cost_usd=waiting.waiting_usd,
        horizon_days=waiting.horizon_days,
        signals=[
            SignalView(trigger=s.trigger, kind=s.kind.value, fired=s.fired, reason=s.reason)
            for s in ev.decision.signals
        ],
        pending=pending_intents(ctx, entry.owner),
        history=fills,
        events=[
            EventView(at=e.at, kind=e.kind, explanation=e.explanation)
            for e in ctx.ledger.events(entry.owner, limit=20)
        ],
        performance=perf,
        risk=risk,
        opportunities=opportunities,
        opportunity_threshold=gap,
        reports=ctx.reports(entry.owner),
    )


def _estimator(ctx: DashboardContext, pf: Any) -> Any:
    from keeper.routing.state import read_market_snapshot
    from keeper.strategy.routing_costs import RoutedCostEstimator

    block = ctx.w3.eth.get_block("latest")
    gas_price = int(block.get("baseFeePerGas") or ctx.w3.eth.gas_price)
    snapshot = read_market_snapshot(ctx.w3, ctx.market)
    eth_usd = pf.prices_usd.get("WETH", 0.0)
    return RoutedCostEstimator(snapshot, pf.tokens, pf.prices_usd, gas_price, eth_usd)


def _current_apy(quotes: Any, weights: dict[str, float]) -> float:
    by_venue = {q.venue: q.apy for q in quotes}
    held = [(weights.get(v, 0.0), apy) for v, apy in by_venue.items() if weights.get(v, 0.0) > 0]
    total = sum(w for w, _ in held)
    return sum(w * a for w, a in held) / total if total else 0.0


def _risk(data: Any, pf: Any) -> RiskView:
    symbols = list(data.tokens)
    if data.prices is None or not symbols:
        metrics = risk_metrics(np.zeros((0, 1)), np.zeros(1))
    else:
        holdings = np.array(
            [pf.balances.get(s, 0) / 10 ** pf.tokens[s].decimals if s in pf.tokens else 0.0
             for s in symbols]
        )  # fmt: skip
        metrics = risk_metrics(data.prices, holdings)
    return RiskView(**metrics.__dict__)


def _performance(
    ctx: DashboardContext,
    owner: str,
    fills: list[Any],
    data: Any,
    last_day: int | None,
    now: int,
    pf: Any,
) -> Performance:
    tokens: tuple[str, ...] = tuple(data.tokens) if data.prices is not None else ()
    closes = data.prices if data.prices is not None else np.zeros((0, 0))
    since = ((last_day or now // DAY) - closes.shape[0]) * DAY
    live = LiveHistory(
        tokens=tokens,
        closes=closes,
        last_day=last_day,
        now=now,
        prices_now=dict(pf.prices_usd),
        holdings_now={
            s: pf.balances.get(s, 0) / 10 ** pf.tokens[s].decimals for s in tokens if s in pf.tokens
        },
        trades=live_trades(ctx, owner, since) if tokens else [],
    )
    return Performance(
        rebalances=len({f.tx_hash for f in fills}),
        traded_usd=sum(sum(a.usd or 0.0 for a in f.sold) for f in fills),
        cost_usd=sum(f.cost_usd for f in fills),
        fees_usd=sum(f.fee.usd or 0.0 for f in fills if f.fee is not None),
        gas_usd=sum(f.gas_usd for f in fills),
        savings_usd=sum(f.savings_usd for f in fills),
        router02_savings_usd=sum(f.router02_savings_usd for f in fills),
        attribution=attribute(live),
    )


def live_trades(ctx: DashboardContext, owner: str, since: int) -> list[LiveTrade]:
    """The owner's settled fills since ``since`` (unix time), with the builder refunds
    credited against their keeper fees (the refund ledger), in USD at their blocks."""
    from keeper.intents.refunds import RefundBook

    pairs = [
        (s, f)
        for s in ctx.ledger.settlements(owner=owner, since=since, limit=10_000)
        for f in s.fills
    ]
    ids = [f.intent_id for _, f in pairs if f.intent_id]
    refunds = RefundBook(ctx.store.engine).per_intent(ids) if ids else {}
    trades = []
    for s, f in pairs:
        delta: dict[str, float] = {}
        for leg in f.sells:
            delta[leg.symbol] = delta.get(leg.symbol, 0.0) - leg.whole
        for leg in f.buys:
            delta[leg.symbol] = delta.get(leg.symbol, 0.0) + leg.whole
        view = fill_view(f, s)
        refund = refunds.get(f.intent_id or "")
        trades.append(
            LiveTrade(
                time=s.block_time,
                delta=delta,
                fees_usd=f.fee_usd,
                trading_usd=f.cost_usd - f.fee_usd,
                surplus_usd=view.surplus_usd,
                credited_usd=_credit_usd(f, refund.credited_fee_units) if refund else 0.0,
                gas_usd=view.gas_usd,
            )
        )
    return trades


def _credit_usd(fill: Any, units: int) -> float:
    """Base units of the fee token taken off the fee, in USD at the settlement's block."""
    if units <= 0 or not fill.fee_token:
        return 0.0
    if fill.fee > 0:
        return units * fill.fee_usd / fill.fee
    leg = next((x for x in fill.sells if x.token.lower() == fill.fee_token.lower()), None)
    return units * leg.usd / leg.amount if leg is not None and leg.amount > 0 else 0.0
