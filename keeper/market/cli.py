"""``keeper market``: the saved market state, an anvil serving it, and its description."""

from __future__ import annotations

import json
import signal
import sys
import time

import click


@click.group()
def market() -> None:
    """The mainnet-shaped local market (see docs/LOCAL_CHAIN.md)."""


@market.command()
def state() -> None:
    """Print the saved state file, generating it first if the market changed."""
    from keeper.market.state import state_file

    started = time.perf_counter()
    path = state_file()
    click.echo(f"{path} ({time.perf_counter() - started:.1f}s)")


@market.command()
@click.option("--port", default=8545, show_default=True, help="Port on 127.0.0.1.")
def serve(port: int) -> None:
    """Serve the seeded market as chain id 1 until interrupted (Ctrl-C)."""
    from keeper.chain.connect import check_port
    from keeper.exceptions import ProcessError
    from keeper.market.state import market_node, state_file

    # Another node on the port would answer our health check: refuse before starting.
    check_port(port, "--port")
    # SIGTERM unwinds like Ctrl-C, so the anvil is stopped with us and never orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with market_node(state_file(), port=port) as node:
        time.sleep(0.5)  # anvil that fails to bind exits at once: never report it as serving
        if node.exit_code is not None:
            raise ProcessError("anvil", f"exited at start (code {node.exit_code}) on {node.url}")
        click.echo(f"seeded market (chain id 1) at {node.url}; Ctrl-C stops it")
        try:
            while node.exit_code is None:
                time.sleep(1)
        except KeyboardInterrupt:
            click.echo("stopping")
            return
        raise ProcessError("anvil", f"exited (code {node.exit_code}); the market is down")


@market.command()
def describe() -> None:
    """Print the market's tokens, DEX contracts and pools as JSON."""
    from keeper.market.deployments import describe_market

    click.echo(json.dumps(describe_market().model_dump(mode="json"), indent=2))
