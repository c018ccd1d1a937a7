"""``keeper strategy ...``, ``keeper portfolio show`` and ``keeper propose``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from keeper.strategy.config import StrategyConfig, load_strategy
from keeper.strategy.controls import ControlStore

_RPC = click.option(
    "--rpc", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL"
)
_STRATEGY = click.option(
    "--strategy", "strategy_file", required=True, type=click.Path(dir_okay=False)
)
_OWNER = click.option("--owner", required=True, help="the portfolio owner's address")
_STATE = click.option(
    "--state", "state_file", type=click.Path(dir_okay=False), help="controls/state JSON file"
)


def _describe(cfg: StrategyConfig) -> list[str]:
    lines = [f"strategy '{cfg.name}'" + (f" (preset {cfg.preset})" if cfg.preset else "")]
    targets = ", ".join(f"{k} {v * 100:.1f}%" for k, v in sorted(cfg.target_weights().items()))
    lines.append(f"  targets: {targets}")
    for name, comp in sorted(cfg.components.items()):
        lines.append(f"  component {name}: {comp.target * 100:.0f}% {comp.frequency.value}")
    lines.append(
        f"  band {cfg.band * 100:.1f}%, {cfg.frequency.value}, rebalance to {cfg.rebalance_to}"
    )
    on = [n for n, t in cfg.triggers.model_dump().items() if t.get("enabled")]
    lines.append(f"  triggers: {', '.join(on)}; model: {cfg.model.kind}")
    lines.append(
        f"  costs: limit {cfg.costs.max_cost * 100:.2f}% of portfolio, "
        f"slippage {cfg.costs.min_slippage * 100:.2f}-{cfg.costs.max_slippage * 100:.2f}%"
    )
    return lines


@click.group()
def strategy() -> None:
    """Check strategy files and operate the user controls."""


@strategy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    """Validate FILE (YAML or TOML); errors name the offending key."""
    cfg = load_strategy(file)
    click.echo("\n".join([*_describe(cfg), "ok"]))


def _store(state_file: str) -> ControlStore:
    return ControlStore(Path(state_file))


@strategy.command("pause")
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False))
def pause(state_file: str) -> None:
    """Stop proposing rebalances until resumed."""
    _store(state_file).pause()
    click.echo("paused")


@strategy.command("resume")
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False))
def resume(state_file: str) -> None:
    _store(state_file).resume()
    click.echo("resumed")


@strategy.command("trigger")
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False))
def trigger(state_file: str) -> None:
    """Ask for a rebalance at the next evaluation (still cost-gated)."""
    _store(state_file).trigger()
    click.echo("manual rebalance requested")


@strategy.command("exit")
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False))
@click.option("--to", "to", required=True, help="token to exit into (a stablecoin or WETH)")
def exit_(state_file: str, to: str) -> None:
    """Emergency exit: the next proposal sells everything for TO in one intent."""
    _store(state_file).emergency_exit(to)
    click.echo(f"emergency exit to {to} requested")


@strategy.command("set")
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False))
@click.option("--target", "targets", multiple=True, help="SYMBOL=WEIGHT, repeated; 'clear' resets")
@click.option("--cost-limit", help="largest cost as a fraction or percentage; 'clear' resets")
@click.option("--frequency", help="daily|weekly|bi-weekly|monthly|quarterly; 'clear' resets")
def set_(
    state_file: str, targets: tuple[str, ...], cost_limit: str | None, frequency: str | None
) -> None:
    """Change targets, the cost limit or the frequency."""
    store = _store(state_file)
    if targets:
        if targets == ("clear",):
            store.set_targets(None)
        else:
            pairs = (t.partition("=") for t in targets)
            store.set_targets({k.strip(): v.strip() for k, _, v in pairs})  # type: ignore[misc]
    if cost_limit is not None:
        store.set_cost_limit(None if cost_limit == "clear" else cost_limit)
    if frequency is not None:
        store.set_frequency(None if frequency == "clear" else frequency)
    click.echo(store.load().model_dump_json(indent=2, exclude_none=True))


def _chain(rpc: str) -> tuple[Any, Any, Any]:
    from web3 import Web3

    from keeper.market.deployments import deployments_path, load_deployments

    w3 = Web3(Web3.HTTPProvider(rpc))
    chain_id = w3.eth.chain_id
    record = load_deployments(deployments_path(chain_id), chain_id)
    if record.market is None:
        from keeper.exceptions import ConfigError

        raise ConfigError("deployments", f"no market recorded for chain {chain_id}")
    return w3, record.market, record.executor


@click.group()
def portfolio() -> None:
    """Portfolio valuation."""


@portfolio.command("show")
@_STRATEGY
@_OWNER
@_RPC
@click.option("--window", default=1800, show_default=True, help="TWAP window, seconds")
def show(strategy_file: str, owner: str, rpc: str, window: int) -> None:
    """Holdings, USD values (TWAP-protected), weights vs targets and drift."""
    from keeper.strategy.live import load_portfolio

    cfg = load_strategy(strategy_file)
    w3, market, _ = _chain(rpc)
    p = load_portfolio(w3, market, cfg, owner, window)
    click.echo("\n".join(p.table(cfg.target_weights(), cfg.band)))


@click.command()
@_STRATEGY
@_OWNER
@_RPC
@_STATE
@click.option("--nonce", type=int, required=True, help="unused intent nonce of the owner")
@click.option("--out", type=click.Path(dir_okay=False), help="write the unsigned intents here")
def propose(
    strategy_file: str, owner: str, rpc: str, state_file: str | None, nonce: int, out: str | None
) -> None:
    """Evaluate the strategy now; print the decision and, if any, the proposed intents."""
    from keeper.strategy.controls import ControlState
    from keeper.strategy.live import propose_live

    cfg = load_strategy(strategy_file)
    w3, market, executor = _chain(rpc)
    if executor is None:
        from keeper.exceptions import ConfigError

        raise ConfigError("deployments", "no executor recorded for this chain")
    store = _store(state_file) if state_file else None
    state = store.load() if store else ControlState()
    data = None
    opportunity = cfg.triggers.opportunity
    if opportunity.enabled and opportunity.source:
        from keeper.strategy.engine import MarketData
        from keeper.strategy.yields import source_from_config

        source = source_from_config(opportunity.source, Path(strategy_file).parent, w3)
        data = MarketData(yields=tuple(source.quotes()))
    result = propose_live(
        w3, market, cfg, owner, executor.address, state, nonce=nonce, market_data=data
    )
    click.echo(result.evaluation.decision.explanation)
    if result.proposal is None:
        return
    click.echo("\n".join(result.proposal.summary()[1:]))
    payload = [json.loads(i.to_json()) for i in result.proposal.intents]
    if out:
        Path(out).write_text(json.dumps(payload, indent=2))
        click.echo(f"unsigned intents written to {out}")
    else:
        click.echo(json.dumps(payload, indent=2))
    if store:
        from datetime import UTC, datetime

        from keeper.strategy.engine import after_proposal

        stamp = datetime.fromtimestamp(int(w3.eth.get_block("latest")["timestamp"]), UTC)
        store.save(after_proposal(result.evaluation.state, stamp, cfg))
