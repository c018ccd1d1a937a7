"""``ape run deploy``: deploy the batch executor (and its allowance vault) and print addresses.

    ape run deploy --network ethereum:mainnet:node --account TEST::0   # the served local market

The work is done by :func:`keeper.market.executor.deploy`; this is only its command line. The
result is recorded in ``deployments/<chain id>.json``; re-running reuses the recorded executor
while it has code on the chain (``--redeploy`` deploys a new one).
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
@click.option("--guardian", help="Address that may pause settlement (default: the account).")
@click.option("--keeper", "keepers", multiple=True, help="Keeper address to allow-list.")
@click.option(
    "--no-targets",
    is_flag=True,
    help="Allow-list no interaction calls (default: the calls the keeper routes through the "
    "market: V2 pool swaps, router swaps, token approve/transfer).",
)
@click.option(
    "--admin-delay",
    type=click.IntRange(0, 30 * 86_400),
    default=2 * 86_400,
    show_default=True,
    help="Seconds a later keeper or allow-listed call waits after being scheduled (0 only on "
    "a development node: the owner is then fully trusted).",
)
@click.option("--redeploy", is_flag=True, help="Deploy a new executor even if one is recorded.")
@click.option(
    "--deployments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEPLOYMENTS_DIR,
    show_default=True,
)
def cli(cli_ctx, account, guardian, keepers, no_targets, admin_delay, redeploy, deployments_dir):
    """Deploy the BatchExecutor (idempotent per deployments file)."""
    from ape import chain

    from keeper.exceptions import KeeperError
    from keeper.market.deployments import deployments_path, load_market
    from keeper.market.executor import AllowedCall, deploy
    from keeper.market.fork import local_chain_caches
    from keeper.routing.calldata import routing_calls

    chain_id = int(chain.chain_id)
    path = deployments_path(chain_id, deployments_dir)
    calls: list[AllowedCall] = []
    market = load_market(chain_id, deployments_dir)
    seeded = len(chain.provider.get_code(market.contracts["UniswapV3Factory"])) > 0
    if seeded and not no_targets:
        calls = routing_calls(market)
    try:
        with local_chain_caches():
            result = deploy(
                account,
                guardian=guardian,
                keepers=keepers,
                calls=calls,
                admin_delay=admin_delay,
                deployments_file=path,
                redeploy=redeploy,
                market=market if seeded else None,
            )
    except KeeperError as err:
        cli_ctx.abort(str(err))
    record = result.record
    verb = "deployed" if result.created else "already deployed (reused; --redeploy for a new one)"
    click.echo(f"BatchExecutor {record.address} {verb}")
    click.echo(f"AllowanceVault {record.vault}")
    click.echo(f"owner {record.owner} guardian {record.guardian} chain {chain_id}")
    if result.created:
        click.echo(f"admin delay {admin_delay} s (later keepers and calls wait this long)")
        click.echo(f"keepers {len(keepers)} allow-listed, {len(calls)} interaction calls")
    if not result.created and keepers:
        click.echo(f"keepers {', '.join(keepers)} allow-listed on the reused executor")
    click.echo(f"recorded in {path}" + (" (with the market)" if seeded else ""))
