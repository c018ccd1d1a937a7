"""``keeper strategy check|pause|resume|trigger|exit|set``: strategy files and user controls.

The chain-facing commands (``keeper portfolio show``, ``keeper propose``, ``keeper strategy
record-prices|watch``) live in :mod:`keeper.strategy.live.cli`, which adds the last two to
this group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def state_store(
    state_file: str | None, strategy_file: str | None, owner: str | None
) -> ControlStore:
    """``--state``, else the default file of ``--strategy`` and ``--owner`` (controls.py)."""
    from keeper.chain.connect import InputError, parse_address
    from keeper.strategy.controls import default_state_path

    if state_file:
        return ControlStore(Path(state_file))
    if not strategy_file or not owner:
        raise InputError(
            "--state", "", "give --state FILE, or --strategy and --owner (the default state file)"
        )
    name = load_strategy(strategy_file).name
    return ControlStore(default_state_path(name, parse_address("--owner", owner)))


def _state_options(fn: Any) -> Any:
    fn = click.option("--owner", help="the portfolio owner (with --strategy: default state)")(fn)
    fn = click.option(
        "--strategy", "strategy_file", type=click.Path(dir_okay=False, exists=True),
        help="the strategy file (with --owner: its default state file)",
    )(fn)  # fmt: skip
    return click.option(
        "--state", "state_file", type=click.Path(dir_okay=False), help="controls/state JSON file"
    )(fn)


@strategy.command("pause")
@_state_options
def pause(state_file: str | None, strategy_file: str | None, owner: str | None) -> None:
    """Stop proposing rebalances until resumed."""
    state_store(state_file, strategy_file, owner).pause()
    click.echo("paused")


@strategy.command("resume")
@_state_options
def resume(state_file: str | None, strategy_file: str | None, owner: str | None) -> None:
    """Propose rebalances again (also ends the hold after an emergency exit)."""
    state_store(state_file, strategy_file, owner).resume()
    click.echo("resumed")


@strategy.command("trigger")
@_state_options
def trigger(state_file: str | None, strategy_file: str | None, owner: str | None) -> None:
    """Ask for a rebalance at the next evaluation (still cost-gated)."""
    state_store(state_file, strategy_file, owner).trigger()
    click.echo("manual rebalance requested")


@strategy.command("exit")
@_state_options
@click.option("--to", "to", required=True, help="token to exit into (a stablecoin or WETH)")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL")
@click.option(
    "--deployments",
    type=click.Path(dir_okay=False, exists=True),
    help="deployments file (default: deployments/<chain id of --rpc>.json)",
)
def exit_(
    state_file: str | None,
    strategy_file: str | None,
    owner: str | None,
    to: str,
    rpc: str,
    deployments: str | None,
) -> None:
    """Emergency exit: the next proposal sells everything for TO in one intent; then the
    strategy holds until resumed or given new targets (it never buys back on its own)."""
    from keeper.chain.connect import InputError, connect
    from keeper.intents.cli_support import load_record
    from keeper.market.deployments import load_deployments

    store = state_store(state_file, strategy_file, owner)
    if deployments:  # the file names its chain: no node needed
        record = load_deployments(Path(deployments))
    else:
        record = load_record(None, int(connect(rpc, "--rpc").eth.chain_id))
    if record is None or record.market is None:
        raise InputError(
            "--deployments",
            str(deployments or "deployments/<chain id>.json"),
            "no market recorded there (give the file 'keeper dev up' or 'ape run deploy' wrote)",
        )
    symbols = [t.symbol for t in record.market.tokens]
    match = [s for s in symbols if s.lower() == to.lower()]
    if not match:
        raise InputError("--to", to, f"not a token of this market ({', '.join(symbols)})")
    store.emergency_exit(match[0])
    click.echo(f"emergency exit to {match[0]} requested ({store.path})")


@strategy.command("set")
@_state_options
@click.option("--target", "targets", multiple=True, help="SYMBOL=WEIGHT, repeated; 'clear' resets")
@click.option("--cost-limit", help="largest cost as a fraction or percentage; 'clear' resets")
@click.option("--frequency", help="daily|weekly|bi-weekly|monthly|quarterly; 'clear' resets")
def set_(
    state_file: str | None,
    strategy_file: str | None,
    owner: str | None,
    targets: tuple[str, ...],
    cost_limit: str | None,
    frequency: str | None,
) -> None:
    """Change targets, the cost limit or the frequency."""
    store = state_store(state_file, strategy_file, owner)
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
