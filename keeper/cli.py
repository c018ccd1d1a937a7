"""The ``keeper`` command line.

Sub-commands live next to the code they drive and are imported only when invoked, so
``keeper --help`` stays fast and a broken optional part cannot break the others.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from keeper.exceptions import KeeperError

# name -> "module:attribute" of a click command or group.
COMMANDS: dict[str, str] = {
    "quote": "keeper.routing.cli:quote",
    "relay": "keeper.relay.cli:relay",
    "intent": "keeper.intents.cli:intent",
    "run": "keeper.daemon.cli:run",
    "portfolio": "keeper.strategy.live.cli:portfolio",
    "propose": "keeper.strategy.live.cli:propose",
    "strategy": "keeper.strategy.live.cli:strategy",
    "market": "keeper.market.cli:market",
    "backtest": "keeper.backtest.cli:backtest",
    "history": "keeper.strategy.live.history_cli:history",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and module_name.startswith(err.name):
                raise click.ClickException(
                    f"'keeper {cmd_name}' is not available in this build ({module_name} missing)"
                ) from err
            raise
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        # Deliberate errors print as one line, without a traceback, and exit non-zero.
        try:
            return super().invoke(ctx)
        except KeeperError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)


@click.group(cls=LazyGroup)
@click.version_option(package_name="intent-rebalancer")
def cli() -> None:
    """Intent-based portfolio rebalancer keeper."""


if __name__ == "__main__":  # pragma: no cover
    cli()
