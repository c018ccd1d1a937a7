"""``keeper run`` (the daemon with its dashboard), ``keeper dashboard serve|control`` and
``keeper report``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from keeper.daemon.cli import run as daemon_run
from keeper.daemon.cli import run_keeper, setup_logging


def _context(settings: Any, chain_id: int, executor: str, w3: Any, deployments: Path | None,
             store: Any, pipeline: Any = None) -> Any:  # fmt: skip
    from keeper.dashboard.context import DashboardContext
    from keeper.market.deployments import deployments_path, load_deployments

    record = load_deployments(deployments or deployments_path(chain_id), chain_id)
    return DashboardContext(
        settings=settings.dashboard, store=store, chain_id=chain_id, executor=executor,
        w3=w3, market=record.market, pipeline=pipeline,
    )  # fmt: skip


def dashboard_services(parts: Any, deployments_file: Path | None) -> list[Any]:
    """The dashboard beside a running keeper (same store, the live pipeline)."""
    from keeper.dashboard.server import DashboardServer

    settings = parts.settings
    if not settings.dashboard.enabled:
        return []
    ctx = _context(
        settings, parts.chain_id, parts.executor, parts.pipeline.chain.web3, deployments_file,
        parts.store, parts.pipeline,
    )  # fmt: skip
    return [DashboardServer(ctx, settings.dashboard.host, settings.dashboard.port)]


@click.command(params=list(daemon_run.params))
def run(
    config: Path | None,
    rpc_url: str | None,
    signer: str | None,
    deployments_file: Path | None,
    max_blocks: int | None,
    log_format: str,
    log_level: str,
) -> None:
    """Run the keeper daemon (intake, per-block settlement, private submission) and its
    dashboard (``dashboard.*`` settings; loopback, port 8550 by default)."""
    setup_logging(log_format, log_level)
    code = run_keeper(
        config, max_blocks, deployments_file, services=dashboard_services,
        rpc_url=rpc_url, signer=signer,
    )  # fmt: skip
    sys.exit(code)


@click.group()
def dashboard() -> None:
    """The dashboard on its own, and signed control requests."""


@dashboard.command("serve")
@click.option("--config", "config", type=click.Path(path_type=Path), help="YAML or TOML file")
@click.option("--rpc-url", help="node JSON-RPC URL (else KEEPER_RPC_URL / config)")
@click.option("--deployments", "deployments_file", type=click.Path(path_type=Path))
@click.option("--port", type=int, help="overrides dashboard.port")
def serve(
    config: Path | None, rpc_url: str | None, deployments_file: Path | None, port: int | None
) -> None:
    """Serve the dashboard over the keeper's store and the chain (no daemon in this process:
    the keeper page shows what the store knows). Runs until Ctrl-C."""
    import threading

    from web3 import HTTPProvider, Web3

    from keeper.config import load_settings
    from keeper.dashboard.server import DashboardServer
    from keeper.exceptions import ConfigError
    from keeper.intents.store import IntentStore
    from keeper.market.deployments import deployments_path, load_deployments

    settings = load_settings(config, **({"rpc_url": rpc_url} if rpc_url else {}))
    if not settings.rpc_url:
        raise ConfigError("rpc_url", "the dashboard reads the chain: give --rpc-url")
    w3 = Web3(HTTPProvider(settings.rpc_url))
    try:
        chain_id = int(w3.eth.chain_id)
    except (OSError, ValueError) as err:
        raise ConfigError("rpc_url", f"{settings.rpc_url} does not answer: {err}") from None
    path = deployments_file or deployments_path(chain_id)
    record = load_deployments(path, chain_id)
    executor = settings.executor or (record.executor.address if record.executor else None)
    if executor is None:
        raise ConfigError("executor", f"not set and no executor recorded in {path}")
    store = IntentStore(settings.database_url, f"{settings.keeper_id}-dashboard")
    ctx = _context(settings, chain_id, executor, w3, path, store)
    server = DashboardServer(ctx, settings.dashboard.host, port or settings.dashboard.port)
    with server:
        click.echo(f"dashboard on {server.url} (Ctrl-C to stop)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopped")
    store.close()


@dashboard.command("control")
@click.argument("action", type=click.Choice(["pause", "resume", "trigger", "targets"]))
@click.option("--url", required=True, help="the dashboard, e.g. http://127.0.0.1:8550")
@click.option("--owner", required=True, help="the portfolio owner's address")
@click.option("--signer", required=True, help="the owner's Ape account alias")
@click.option("--targets", help="for targets: WETH=0.4,WBTC=0.3,USDC=0.3")
def control(action: str, url: str, owner: str, signer: str, targets: str | None) -> None:
    """Prepare a control request, sign it as the owner (EIP-712) and send it."""
    import requests

    from keeper.chain.signer import load_signer
    from keeper.dashboard.controls import ControlRequest, sign
    from keeper.exceptions import KeeperError

    params = {"action": action, **({"targets": targets} if targets else {})}
    base = url.rstrip("/")
    answer = requests.get(
        f"{base}/api/owners/{owner}/controls/typed-data", params=params, timeout=10
    )
    if not answer.ok:
        raise KeeperError(answer.json().get("detail", answer.text))
    typed = answer.json()
    request = ControlRequest.model_validate(typed["message"])
    domain = typed["domain"]
    signature = sign(request, load_signer(signer), domain["chainId"], domain["verifyingContract"])
    body = {"request": typed["message"], "signature": signature}
    sent = requests.post(f"{base}/api/owners/{owner}/controls", json=body, timeout=10)
    if not sent.ok:
        raise KeeperError(f"refused: {sent.json().get('detail', sent.text)}")
    click.echo(json.dumps(sent.json(), indent=2))


def month_risk(settings: Any, owner: str, start: int, end: int) -> Any:
    """Risk metrics of the owner's target allocation over the month's daily closes, when the
    owner is in ``dashboard.owners`` and their strategy keeps a price history; else None."""
    import numpy as np

    from keeper.dashboard.risk import risk_metrics
    from keeper.strategy.config import load_strategy
    from keeper.strategy.live.history import PriceHistory

    entry = next((e for e in settings.dashboard.owners if e.owner.lower() == owner.lower()), None)
    if entry is None:
        return None
    cfg = load_strategy(entry.strategy)
    if cfg.history.path is None:
        return None
    history = PriceHistory(entry.strategy.parent / cfg.history.path, settings.chain_id or 1)
    targets = cfg.target_weights()
    symbols = sorted(targets)
    # the month's days that have passed (a report on the month in progress stops at today)
    last_day = min(end // 86_400 - 1, int(time.time()) // 86_400)
    closes = history.daily_prices(symbols, until_day=last_day)
    days = min(closes.shape[0], last_day - start // 86_400 + 1)
    closes = closes[-days:] if days > 0 else closes[:0]
    if closes.shape[0] == 0:
        return None
    holdings = np.array([targets[s] for s in symbols]) / closes[0]
    return risk_metrics(closes, holdings)


@click.command("report")
@click.option("--owner", required=True, help="the portfolio owner's address")
@click.option("--month", required=True, help="YYYY-MM (UTC)")
@click.option("--config", "config", type=click.Path(path_type=Path), help="YAML or TOML file")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="folder (default: dashboard.reports_dir/<owner>, else ./reports/<owner>)",
)
def report(owner: str, month: str, config: Path | None, out_dir: Path | None) -> None:
    """Write a monthly report (HTML + Markdown with PNG charts) from the keeper's store."""
    from keeper.chain.connect import parse_address
    from keeper.config import load_settings
    from keeper.dashboard.report import parse_month, write_report
    from keeper.exceptions import ConfigError
    from keeper.intents.store import IntentStore

    owner = parse_address("--owner", owner)
    settings = load_settings(config)
    start, end = parse_month(month)
    if not settings.store_url and not (settings.data_dir / "intents.db").exists():
        raise ConfigError(
            "data_dir",
            f"no keeper store at {(settings.data_dir / 'intents.db').resolve()}: give the "
            "keeper's --config (or KEEPER_DATA_DIR) so the report reads what it recorded",
        )
    folder = out_dir or (settings.dashboard.reports_dir or Path("reports")) / owner.lower()
    risk = month_risk(settings, owner, start, end)
    store = IntentStore(settings.database_url, f"{settings.keeper_id}-report")
    try:
        html, markdown = write_report(store.ledger, owner, month, start, end, folder, risk)
    finally:
        store.close()
    click.echo(f"wrote {html} and {markdown}")
