"""``ape run keeper``: the keeper daemon on the network Ape is connected to.

    ape run keeper --network ethereum:mainnet:node -- --signer my-keeper --config keeper.yaml

Thin wrapper over :func:`keeper.daemon.cli.run_keeper` with the dashboard beside it; settings
as for ``keeper run``.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand


@click.command(cls=ConnectedProviderCommand)
@click.option("--config", "config", type=click.Path(path_type=Path))
@click.option("--signer", help="Ape account alias; omit for paper mode")
@click.option("--deployments", "deployments_file", type=click.Path(path_type=Path))
@click.option("--max-blocks", type=int)
@click.option("--log-format", type=click.Choice(["json", "text"]), default="text")
def cli(
    config: Path | None,
    signer: str | None,
    deployments_file: Path | None,
    max_blocks: int | None,
    log_format: str,
) -> None:
    """Run the keeper (and its dashboard) against the connected network."""
    from keeper.daemon.cli import run_keeper, setup_logging
    from keeper.dashboard.cli import dashboard_services

    setup_logging(log_format, "info")
    code = run_keeper(
        config, max_blocks, deployments_file, services=dashboard_services, signer=signer
    )
    raise SystemExit(code)
