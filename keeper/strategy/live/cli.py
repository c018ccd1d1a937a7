"""Chain-facing commands: ``keeper portfolio show``, ``keeper propose``,
``keeper strategy record-prices`` and ``keeper strategy watch``.

``strategy`` is the group of :mod:`keeper.strategy.cli` with the last two added; ``keeper``
finds all three groups here. Each command imports what it runs inside its function, for
start-up time: ``keeper --help`` and ``keeper strategy check`` load neither numpy nor web3.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from keeper.strategy.cli import strategy
from keeper.strategy.config import load_strategy
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
_DEPLOYMENTS = click.option(
    "--deployments",
    type=click.Path(dir_okay=False, exists=True),
    help="deployments file (default: deployments/<chain id>.json)",
)
_HISTORY = click.option(
    "--history",
    "history_file",
    help="price-history SQLite file (default: the strategy's history.path)",
)


def _chain(rpc: str, deployments: str | None = None) -> tuple[Any, Any, Any]:
    from keeper.chain.connect import connect
    from keeper.exceptions import ConfigError
    from keeper.market.deployments import deployments_path, load_deployments

    w3 = connect(rpc, "--rpc")
    chain_id = w3.eth.chain_id
    path = Path(deployments) if deployments else deployments_path(chain_id)
    record = load_deployments(path, chain_id)
    if record.market is None:
        raise ConfigError("deployments", f"no market recorded for chain {chain_id} in {path}")
    return w3, record.market, record.executor


def _owner(owner: str) -> str:
    from keeper.chain.connect import parse_address

    return parse_address("--owner", owner)


def _state_store(state_file: str | None, no_state: bool, cfg: Any, owner: str) -> Any:
    from keeper.strategy.controls import default_state_path

    if no_state:
        return None
    return ControlStore(Path(state_file) if state_file else default_state_path(cfg.name, owner))


@click.group()
def portfolio() -> None:
    """Portfolio valuation."""


@portfolio.command("show")
@_STRATEGY
@_OWNER
@_RPC
@_DEPLOYMENTS
@click.option("--window", default=1800, show_default=True, help="TWAP window, seconds")
def show(strategy_file: str, owner: str, rpc: str, deployments: str | None, window: int) -> None:
    """Holdings, USD values (TWAP-protected), weights vs targets and drift."""
    from keeper.strategy.live.evaluation import load_portfolio

    cfg = load_strategy(strategy_file)
    w3, market, _ = _chain(rpc, deployments)
    p = load_portfolio(w3, market, cfg, _owner(owner), window)
    click.echo("\n".join(p.table(cfg.target_weights(), cfg.band)))


@click.command()
@_STRATEGY
@_OWNER
@_RPC
@_STATE
@click.option(
    "--no-state", is_flag=True, help="remember nothing (drawdown protection has no memory)"
)
@_DEPLOYMENTS
@_HISTORY
@click.option("--nonce", type=int, help="first intent nonce (default: the lowest free one)")
@click.option("--keeper-url", help="keeper intake URL; nonces of intents it holds are not reused")
@click.option("--out", type=click.Path(dir_okay=False), help="write the proposal file here")
def propose(
    strategy_file: str,
    owner: str,
    rpc: str,
    state_file: str | None,
    no_state: bool,
    deployments: str | None,
    history_file: str | None,
    nonce: int | None,
    keeper_url: str | None,
    out: str | None,
) -> None:
    """Evaluate the strategy now; print the decision and, if any, the proposed intents.

    The state (drawdown peak, clocks, controls) is remembered in the strategy's default state
    file unless --state names another or --no-state. With a price history (``--history`` or
    the strategy's ``history.path``) a sample is recorded first and the daily closes drive
    volatility, regime and the models. --out writes the file ``keeper intent sign --from``
    and ``keeper intent typed-data --from`` read."""
    from keeper.exceptions import ConfigError
    from keeper.intents.cli_support import pending_nonces
    from keeper.strategy.controls import ControlState
    from keeper.strategy.engine import after_proposal
    from keeper.strategy.live.evaluation import gather_market_data, history_for, propose_live
    from keeper.strategy.live.nonces import assign_nonces, proposal_file

    cfg = load_strategy(strategy_file)
    owner = _owner(owner)
    base = Path(strategy_file).parent
    w3, market, executor = _chain(rpc, deployments)
    if executor is None:
        raise ConfigError("deployments", "no executor recorded for this chain")
    store = _state_store(state_file, no_state, cfg, owner)
    state = store.load() if store else ControlState()
    history = history_for(cfg, base, history_file, int(w3.eth.chain_id))
    data = gather_market_data(w3, market, cfg, base, history)
    result = propose_live(
        w3, market, cfg, owner, executor.address, state, nonce=nonce or 0, market_data=data
    )
    ev = result.evaluation
    if result.proposal is not None and result.proposal.explanation != ev.decision.explanation:
        click.echo(result.proposal.explanation)  # an emergency exit, not the evaluation's call
    else:
        click.echo(ev.explanation)
    if store is None and cfg.triggers.drawdown.enabled:
        click.echo("note: --no-state: drawdown protection has no memory of the portfolio's peak")
    stamp = datetime.fromtimestamp(int(w3.eth.get_block("latest")["timestamp"]), UTC)
    if result.proposal is None:
        if store:
            store.save(ev.state)  # remembered: drawdown peak, phase-in
        return
    taken = pending_nonces(keeper_url, owner) if keeper_url else set()
    proposal = assign_nonces(w3, executor.address, result.proposal, taken, first=nonce)
    click.echo("\n".join(proposal.summary()[1:]))
    document = proposal_file(int(w3.eth.chain_id), proposal, result.portfolio)
    if out:
        Path(out).write_text(document.to_json() + "\n")
        click.echo(f"proposal written to {out}; review and sign: keeper intent sign --from {out}")
    else:
        click.echo(document.to_json())
    if store:
        store.save(after_proposal(ev.state, stamp, cfg))


@click.command("record-prices")
@_STRATEGY
@_RPC
@_DEPLOYMENTS
@_HISTORY
@click.option("--backfill-days", type=int, default=0, help="also sample the last N days")
def record_prices(
    strategy_file: str,
    rpc: str,
    deployments: str | None,
    history_file: str | None,
    backfill_days: int,
) -> None:
    """Record today's close of the strategy's tokens (run at least daily, e.g. from cron)."""
    from keeper.exceptions import ConfigError
    from keeper.strategy.live.evaluation import history_for, strategy_symbols
    from keeper.strategy.live.history import backfill, record_now

    cfg = load_strategy(strategy_file)
    w3, market, _ = _chain(rpc, deployments)
    history = history_for(cfg, Path(strategy_file).parent, history_file, int(w3.eth.chain_id))
    if history is None:
        raise ConfigError("history.path", "no price-history file (give --history or history.path)")
    symbols = strategy_symbols(cfg)
    written = record_now(w3, market, symbols, history)
    if backfill_days:
        written += backfill(w3, market, symbols, history, backfill_days)
    days = {s: history.days(s) for s in symbols}
    click.echo(
        f"recorded {written} price(s) into {history.path}; daily closes: "
        + ", ".join(f"{s} {n}" for s, n in sorted(days.items()))
    )


@click.command("watch")
@_STRATEGY
@_OWNER
@_RPC
@_DEPLOYMENTS
@_HISTORY
@_STATE
@click.option("--outbox", required=True, type=click.Path(dir_okay=False), help="proposals file")
@click.option("--keeper-url", help="the keeper's intake URL, for completion confirmations")
@click.option("--webhook", "webhooks", multiple=True, help="POST alerts here (repeatable)")
@click.option("--interval", default=60.0, show_default=True, help="seconds between rounds")
@click.option("--rounds", type=int, help="stop after N rounds (default: run until Ctrl-C)")
@click.option(
    "--max-backoff", default=300.0, show_default=True, help="longest wait after failed rounds, s"
)
@click.option(
    "--store-url", help="the keeper's store (SQLAlchemy URL): journal each decision there"
)
def watch(
    strategy_file: str,
    owner: str,
    rpc: str,
    deployments: str | None,
    history_file: str | None,
    state_file: str | None,
    outbox: str,
    keeper_url: str | None,
    webhooks: tuple[str, ...],
    interval: float,
    rounds: int | None,
    max_backoff: float,
    store_url: str | None,
) -> None:
    """Evaluate every INTERVAL seconds; alert proposals, scheduled notices and completions.

    Prints a heartbeat line per round. A round that fails (node or keeper unreachable) is
    reported in one line and retried with a doubling wait, up to --max-backoff."""
    from keeper.exceptions import ConfigError
    from keeper.strategy.live.alerts import AlertDispatcher, LogSink, WebhookSink
    from keeper.strategy.live.watch import WatchedUser, Watcher, run_rounds

    cfg = load_strategy(strategy_file)  # fail early on a bad file
    owner = _owner(owner)
    w3, market, executor = _chain(rpc, deployments)
    if executor is None:
        raise ConfigError("deployments", "no executor recorded for this chain")
    store = _state_store(state_file, False, cfg, owner)
    sinks: list[Any] = [LogSink(), *(WebhookSink(u) for u in webhooks)]
    user = WatchedUser(owner, Path(strategy_file), store.path, Path(outbox))
    watcher = Watcher(
        w3,
        market,
        executor.address,
        [user],
        AlertDispatcher(sinks),
        store.path.with_suffix(".watch.json"),
        keeper_url=keeper_url,
        history_file=history_file,
    )
    store = None
    if store_url:
        from keeper.intents.store import IntentStore

        store = IntentStore(store_url, "strategy-watch")
        watcher.journal = store.ledger
    try:
        run_rounds(watcher, click.echo, interval, rounds, max_backoff)
    finally:
        if store is not None:
            store.close()


strategy.add_command(record_prices)
strategy.add_command(watch)
__all__ = ["portfolio", "propose", "strategy"]
