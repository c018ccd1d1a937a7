"""``keeper strategy check|pause|resume|trigger|exit|set``: strategy files and user controls.

The chain-facing commands (``keeper portfolio show``, ``keeper propose``, ``keeper strategy
record-prices|watch``) live in :mod:`keeper.strategy.live.cli`, which adds the last two to
this group.
"""

from __future__ import annotations

from pathlib import Path

import click

from keeper.strategy.config import StrategyConfig, load_strategy
from keeper.strategy.controls import ControlStore


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
