"""``ape run keeper``: the keeper daemon on the network Ape is connected to.

    ape run keeper --network ethereum:mainnet:node --signer my-keeper --config keeper.yaml
    ape run keeper --network ethereum:mainnet:node -- --signer my-keeper --config keeper.yaml

Thin wrapper over :func:`keeper.daemon.cli.run_keeper` with the dashboard beside it; settings
as for ``keeper run``. The keeper's options may come before or after a ``--`` (which separates
them from Ape's own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

_OPTIONS = [
    click.option("--config", "config", type=click.Path(path_type=Path)),
    click.option("--signer", help="Ape account alias; omit for paper mode"),
    click.option("--deployments", "deployments_file", type=click.Path(path_type=Path)),
    click.option("--max-blocks", type=int),
    click.option("--log-format", type=click.Choice(["json", "text"]), default="text"),
]


def _keeper_options(fn: Any) -> Any:
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


@click.command(name="keeper options after --")
@_keeper_options
def _after_separator(**options: Any) -> None:
    """Only parses: the options given after ``--``."""


@click.command(cls=ConnectedProviderCommand)
@_keeper_options
@click.argument("after_separator", nargs=-1, type=click.UNPROCESSED)
def cli(after_separator: tuple[str, ...], **options: Any) -> None:
    """Run the keeper against the connected network."""
    from keeper.daemon.cli import run_keeper, setup_logging
    from keeper.dashboard.cli import dashboard_services
    from keeper.exceptions import KeeperError

    if after_separator:
        ctx = _after_separator.make_context("ape run keeper --", list(after_separator))
        given = click.core.ParameterSource.COMMANDLINE
        options.update(
            {k: v for k, v in ctx.params.items() if ctx.get_parameter_source(k) is given}
        )
    setup_logging(options["log_format"], "info")
    try:
        code = run_keeper(
            options["config"],
            options["max_blocks"],
            options["deployments_file"],
            services=dashboard_services,
            signer=options["signer"],
        )
    except KeeperError as err:  # one line, as `keeper run` prints it
        click.echo(f"error: {err}", err=True)
        code = 1
    raise SystemExit(code)
