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
    "run": "keeper.dashboard.cli:run",
    "dashboard": "keeper.dashboard.cli:dashboard",
    "report": "keeper.dashboard.cli:report",
    "portfolio": "keeper.strategy.live.cli:portfolio",
    "propose": "keeper.strategy.live.cli:propose",
    "strategy": "keeper.strategy.live.cli:strategy",
    "market": "keeper.market.cli:market",
    "backtest": "keeper.backtest.cli:backtest",
    "history": "keeper.strategy.live.history_cli:history",
    "vault": "keeper.intents.vault_cli:vault",
    "dev": "keeper.devstack.dev:dev",
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

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # A usage error (unknown option, a value not among the choices) is one line too, with
        # the command whose --help lists the valid inputs, and exit code 2 as click uses.
        kwargs.setdefault("standalone_mode", True)
        if not kwargs["standalone_mode"]:
            return super().main(*args, **kwargs)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as err:
            where = err.ctx.command_path if err.ctx is not None else "keeper"
            click.echo(f"error: {err.format_message()} (see '{where} --help')", err=True)
            sys.exit(2)
        except click.ClickException as err:
            click.echo(f"error: {err.format_message()}", err=True)
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        except OSError as err:  # a file or a network peer, outside any command's own checks
            click.echo(f"error: {err}", err=True)
            sys.exit(1)


@click.group(cls=LazyGroup)
@click.version_option(package_name="intent-rebalancer")
def cli() -> None:
    """Intent-based portfolio rebalancer keeper."""


if __name__ == "__main__":  # pragma: no cover
    cli()
