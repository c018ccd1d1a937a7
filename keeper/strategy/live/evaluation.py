"""The strategy against a live chain: valuation, evaluation and a proposal, in one place.

Used by ``keeper portfolio show``, ``keeper propose`` and the fork tests. Token addresses and
pools come from the chain's market description (``keeper.market``); the strategy's symbols
must all be in it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keeper.routing.state import read_market_snapshot
from keeper.strategy.config import StrategyConfig
from keeper.strategy.controls import ControlState
from keeper.strategy.engine import Evaluation, evaluate, market_sigma
from keeper.strategy.exceptions import StrategyConfigError
from keeper.strategy.live.history import PriceHistory, record_now
from keeper.strategy.live.portfolio import Portfolio, read_balances
from keeper.strategy.live.prices import PriceOracle, pool_refs
from keeper.strategy.live.yields import source_from_config
from keeper.strategy.market_data import MarketData
from keeper.strategy.proposals import (
    IntentTerms,
    Proposal,
    TokenRef,
    build_proposal,
    emergency_exit,
)
from keeper.strategy.routing_costs import RoutedCostEstimator, RoutedQuoter
from keeper.strategy.slippage import slippage_allowance
from keeper.strategy.tax import load_cost_basis


def token_refs(market: Any, symbols: list[str]) -> dict[str, TokenRef]:
    known = {t.symbol: t for t in market.tokens}
    out = {}
    for sym in symbols:
        if sym not in known:
            raise StrategyConfigError(
                f"targets.{sym}",
                f"token not in the market of chain {market.chain_id} ({', '.join(sorted(known))})",
            )
        t = known[sym]
        out[sym] = TokenRef(sym, t.address, t.decimals)
    return out


def strategy_symbols(cfg: StrategyConfig, extra: tuple[str, ...] = ()) -> list[str]:
    syms = set(cfg.target_weights()) | set(extra)
    if cfg.triggers.drawdown.enabled:
        syms.add(cfg.triggers.drawdown.safe_asset)
    if cfg.model.cash_asset:
        syms.add(cfg.model.cash_asset)
    return sorted(syms)


def load_portfolio(
    w3: Any, market: Any, cfg: StrategyConfig, owner: str, window: int = 1800
) -> Portfolio:
    tokens = token_refs(market, strategy_symbols(cfg))
    oracle = PriceOracle(w3, pool_refs(market), window=window)
    prices = oracle.prices(list(tokens))
    return Portfolio(owner, read_balances(w3, owner, tokens), tokens, prices)


@dataclass(frozen=True)
class LiveResult:
    portfolio: Portfolio
    evaluation: Evaluation
    proposal: Proposal | None


def propose_live(
    w3: Any,
    market: Any,
    cfg: StrategyConfig,
    owner: str,
    executor: str,
    state: ControlState,
    *,
    nonce: int,
    now: datetime | None = None,
    market_data: MarketData | None = None,
    deadline_seconds: int = 3_600,
    max_chunk_usd: float = float("inf"),
    window: int = 1800,
    intent_per_leg: bool = False,
) -> LiveResult:
    """Value ``owner``'s portfolio, evaluate the strategy and, if it says so, propose intents."""
    block = w3.eth.get_block("latest")
    now = now or datetime.fromtimestamp(int(block["timestamp"]), UTC)
    extra = (state.exit_to,) if state.exit_to else ()
    tokens = token_refs(market, strategy_symbols(cfg, extra))
    oracle = PriceOracle(w3, pool_refs(market), window=window)
    prices = oracle.prices(list(tokens))
    portfolio = Portfolio(owner, read_balances(w3, owner, tokens), tokens, prices)
    snapshot = read_market_snapshot(w3, market)
    gas_price = int(block.get("baseFeePerGas") or w3.eth.gas_price)
    eth_usd = prices.get("WETH") or oracle.price("WETH")
    estimator = RoutedCostEstimator(snapshot, tokens, prices, gas_price, eth_usd)
    quoter = RoutedQuoter(snapshot)
    data = market_data or MarketData()
    if not data.spot_usd:
        data = replace(data, spot_usd=dict(prices))
    ev = evaluate(cfg, portfolio.values_usd, now, state, data, estimator)
    # from history when there is enough of it, else a deliberately wide 80 % a year
    sigma = market_sigma(cfg, ev.targets, data)
    slip = slippage_allowance(
        sigma, deadline_seconds, cfg.costs.min_slippage, cfg.costs.max_slippage
    )
    terms = IntentTerms(
        owner=owner,
        executor=executor,
        nonce=nonce,
        now=int(block["timestamp"]) if now is None else int(now.timestamp()),
        deadline_seconds=deadline_seconds,
        max_chunk_usd=max_chunk_usd,
        intent_per_leg=intent_per_leg,
    )
    if state.exit_to:
        p = emergency_exit(state.exit_to, tokens, prices, portfolio.balances, quoter, slip, terms)
        return LiveResult(portfolio, ev, p)
    if not ev.decision.rebalance:
        return LiveResult(portfolio, ev, None)
    p = build_proposal(ev.decision, tokens, prices, portfolio.balances, quoter, slip, terms)
    return LiveResult(portfolio, ev, p)


def history_for(cfg: StrategyConfig, base_dir: Path, override: str | None, chain_id: int) -> Any:
    """The strategy's :class:`~keeper.strategy.live.history.PriceHistory` (``--history`` or
    ``history.path``, relative to the strategy file), or None when neither is given."""
    path = override or cfg.history.path
    if path is None:
        return None
    return PriceHistory(base_dir / path, chain_id, cfg.history.max_gap_days)


def gather_market_data(
    w3: Any, market: Any, cfg: StrategyConfig, base_dir: Path, history: Any = None
) -> MarketData:
    """Everything the evaluation reads besides the portfolio: a fresh price sample recorded into
    the history and the daily closes from it, yield quotes, the cost basis."""
    tokens: tuple[str, ...] = ()
    prices = None
    if history is not None:
        symbols = strategy_symbols(cfg)
        record_now(w3, market, symbols, history)
        closes = history.daily_prices(symbols)
        if closes.shape[0]:
            tokens, prices = tuple(symbols), closes
    yields: tuple[Any, ...] = ()
    opportunity = cfg.triggers.opportunity
    if opportunity.enabled and opportunity.source:
        yields = tuple(source_from_config(opportunity.source, base_dir, w3).quotes())
    basis = None
    if cfg.rules.tax_aware and cfg.rules.cost_basis:
        basis = load_cost_basis(base_dir / cfg.rules.cost_basis)
    return MarketData(tokens=tokens, prices=prices, yields=yields, cost_basis=basis)
