"""``ape run seed_market``: deploy and seed the mainnet-shaped market on the connected anvil.

    anvil --chain-id 1 &   # or any anvil; chain id 1 lets Ape treat it as ethereum:mainnet
    ape run seed_market --network ethereum:mainnet:node --account TEST::0

The work is done by :func:`keeper.market.seed.seed_market`; ``--account`` receives the
liquidity positions. Re-running on a seeded chain changes nothing; a chain with other code at the
canonical addresses (a real mainnet fork) is refused. Test sessions do not need this: they load
the saved state (``keeper market state``).
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, account_option, ape_cli_context, network_option

from keeper.market.deployments import DEPLOYMENTS_DIR


@click.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@network_option()
@account_option()
@click.option(
    "--deployments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEPLOYMENTS_DIR,
    show_default=True,
)
def cli(cli_ctx, account, deployments_dir):
    """Seed Uniswap V2/V3, WETH9 and the tokens at their mainnet addresses."""

    from keeper.exceptions import KeeperError
    from keeper.market.deployments import (
        Deployments,
        deployments_path,
        load_deployments,
        save_deployments,
    )
    from keeper.market.fork import local_chain_caches
    from keeper.market.seed import seed_market

    try:
        with local_chain_caches():
            market = seed_market(account)
        path = deployments_path(market.chain_id, deployments_dir)
        record: Deployments = load_deployments(path, market.chain_id)
        save_deployments(record.model_copy(update={"market": market}), path)
    except KeeperError as err:
        cli_ctx.abort(str(err))
    for token in market.tokens:
        click.echo(f"{token.symbol:5} {token.address} decimals {token.decimals}")
    for name, address in market.contracts.items():
        click.echo(f"{name:27} {address}")
    click.echo(f"{len(market.pools)} pools on chain {market.chain_id}; recorded in {path}")
