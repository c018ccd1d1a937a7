"""``keeper dev up``: the whole product on this machine, for trying it by hand.

Starts the seeded market (anvil, chain id 1), deploys the executor and records it together with
the market in ``<dir>/deployments/1.json``, starts the local relay and a real ``keeper run``,
funds two test users (``TEST::2`` alice, ``TEST::3`` bob) and sets up their vault allowances,
then prints the URLs and the next three commands and waits. Ctrl-C (or SIGTERM) stops all of it.

``<dir>/dev.json`` records the URLs, files and users for scripts (the end-to-end tests read it).
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click

from keeper.chain.connect import check_port
from keeper.exceptions import KeeperError

#: whole tokens each test user starts with (drifted from the example strategy's targets)
USERS = {
    "alice": {"WETH": 10, "WBTC": 0.1, "USDC": 6_000, "DAI": 2_000},
    "bob": {"WETH": 2, "WBTC": 0.3, "USDC": 20_000, "DAI": 1_000},
}
#: the strategy file written for the printed commands (targets in the local market's tokens)
STRATEGY = """\
# written by `keeper dev up`: a balanced portfolio of the local market's tokens
name: dev-balanced
preset: custom
band: 5%
targets: {WETH: 0.40, WBTC: 0.20, USDC: 0.30, DAI: 0.10}
triggers:
  calendar: {enabled: false}
  drawdown: {enabled: true, derisk_at: 15%, stop_loss: 30%, safe_asset: USDC}
"""


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (and SIGINT once the stack runs) unwinds like Ctrl-C: everything is stopped."""
    raise KeyboardInterrupt


def next_commands(info: dict[str, Any]) -> list[str]:
    alice = info["users"]["alice"]
    chain = f"--rpc {info['rpc']} --deployments {info['deployments']}"
    return [
        f"keeper portfolio show --strategy {info['strategy']} --owner {alice['address']} {chain}",
        f"keeper propose --strategy {info['strategy']} --owner {alice['address']} {chain} "
        "--out proposal.json",
        f"keeper intent sign --from proposal.json --account {alice['account']} --rpc-url "
        f"{info['rpc']} --deployments {info['deployments']} --out signed.json && keeper intent "
        f"submit signed.json --url {info['intake']} --wait 60",
    ]


@click.group()
def dev() -> None:
    """The whole product on this machine (local chain, relay, keeper, funded users)."""


@dev.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".keeper-dev"),
    show_default=True,
    help="where the deployments, strategy, keeper data and dev.json go",
)
@click.option("--rpc-port", type=int, default=8545, show_default=True, help="anvil (0: any free)")
@click.option("--relay-port", type=int, default=8546, show_default=True, help="0: any free")
@click.option("--intake-port", type=int, default=8547, show_default=True, help="0: any free")
@click.option("--block-time", type=float, default=1.0, show_default=True, help="seconds")
def up(workdir: Path, rpc_port: int, relay_port: int, intake_port: int, block_time: float) -> None:
    """Start everything, print the URLs and the next commands; Ctrl-C stops all of it."""
    from keeper.devstack.localstack import KeeperProcess, local_stack

    for port, option in ((rpc_port, "--rpc-port"), (relay_port, "--relay-port"),
                         (intake_port, "--intake-port")):  # fmt: skip
        check_port(port, option)
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    # a fresh chain each time: what an earlier keeper stored refers to the old one
    shutil.rmtree(workdir / "keeper", ignore_errors=True)
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    previous_int = signal.getsignal(signal.SIGINT)
    click.echo("starting the seeded market, executor, relay and keeper (about a minute) ...")
    try:
        with local_stack(
            workdir, USERS, block_time=block_time, anvil_port=rpc_port or None,
            relay_port=relay_port,
        ) as stack:  # fmt: skip
            keeper = KeeperProcess(stack, workdir / "keeper", intake_port=intake_port or None)
            with keeper:
                strategy = workdir / "strategy.yaml"
                strategy.write_text(STRATEGY)
                info = {
                    "rpc": stack.anvil.url,
                    "relay": stack.relay.url,
                    "intake": keeper.url,
                    "deployments": str(stack.deployments_file),
                    "executor": stack.executor,
                    "vault": stack.vault,
                    "strategy": str(strategy),
                    "keeper_log": str(workdir / "keeper" / "keeper.log"),
                    "users": {
                        name: {"account": f"TEST::{2 + k}", "address": user.address}
                        for k, (name, user) in enumerate(zip(USERS, stack.users, strict=True))
                    },
                }
                (workdir / "dev.json").write_text(json.dumps(info, indent=2) + "\n")
                # importing ape (while starting) made Ctrl-C a bare exit(130): take it back
                signal.signal(signal.SIGINT, _raise_on_sigterm)
                _print(info)
                while keeper.proc is not None and keeper.proc.poll() is None:
                    time.sleep(0.5)
                raise KeeperError(f"keeper run exited; see {info['keeper_log']}")
    except KeyboardInterrupt:
        click.echo("stopping ... stopped (chain, relay and keeper)")
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _print(info: dict[str, Any]) -> None:
    lines = [
        f"market (anvil, chain 1)  {info['rpc']}",
        f"local relay              {info['relay']}",
        f"keeper intake            {info['intake']}   (log: {info['keeper_log']})",
        f"deployments              {info['deployments']}",
        f"executor / vault         {info['executor']} / {info['vault']}",
        f"strategy                 {info['strategy']}",
    ]
    for name, user in info["users"].items():
        lines.append(f"user {name:<6} --account {user['account']}  {user['address']}")
    lines.append("next:")
    lines.extend(f"  {command}" for command in next_commands(info))
    lines.append("Ctrl-C stops everything.")
    click.echo("\n".join(lines))
    sys.stdout.flush()
