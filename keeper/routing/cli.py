"""``keeper quote``: the best route for one trade, from a snapshot file or a live node."""

from __future__ import annotations

import json
from typing import Any

import click

from keeper.routing.exceptions import AmountError, SnapshotError


def _amount(text: str, field: str) -> int:
    try:
        return int(text.replace("_", ""), 10)
    except ValueError:
        raise AmountError(field, text, "not an integer number of base units") from None


def _whole(text: str, option: str, decimals: int, symbol: str) -> int:
    """``text`` whole tokens (``1.5``, ``5,000``) in base units; refused, never truncated."""
    from keeper.units import AmountError as UnitsError
    from keeper.units import parse_units

    try:
        return parse_units(option, text, decimals, symbol)
    except UnitsError as err:
        raise AmountError(option, text, err.problem) from None


def _is_zero(text: str) -> bool:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text.strip().replace(",", "").replace("_", "")) == 0
    except InvalidOperation:
        return False


#: a gas price above this many gwei is almost surely a price in wei (the option's old unit)
MAX_GWEI = 100_000


def _live_snapshot(rpc: str, v2: tuple[str, ...], v3: tuple[str, ...], weth: str | None) -> Any:
    from keeper.chain.connect import connect
    from keeper.routing.state import RpcBatch, read_market_snapshot, read_snapshot

    connect(rpc, "--rpc")  # a node that answers, or one line naming --rpc and what answered

    batch = RpcBatch(rpc)
    if v2 or v3:
        return read_snapshot(batch, v2, v3, weth=weth)
    from keeper.market.deployments import load_market

    chain_id = int(batch.request([("eth_chainId", [])])[0] or "0x1", 16)
    return read_market_snapshot(batch, load_market(chain_id))


@click.command()
@click.option("--pools", "pools_file", type=click.Path(dir_okay=False), help="Snapshot JSON.")
@click.option("--rpc", help="JSON-RPC URL to read pool state from (instead of --pools).")
@click.option("--v2-pool", multiple=True, help="With --rpc: a V2 pair to read (repeatable).")
@click.option("--v3-pool", multiple=True, help="With --rpc: a V3 pool to read (repeatable).")
@click.option("--weth", help="With --rpc and explicit pools: the WETH address (to price gas).")
@click.option("--save", "save_path", type=click.Path(dir_okay=False), help="Write the snapshot.")
@click.option("--sell", required=True, help="Token to sell (symbol or address).")
@click.option("--buy", required=True, help="Token to buy (symbol or address).")
@click.option(
    "--amount",
    required=True,
    help="Amount of SELL to sell, in whole tokens (1.5, 5,000); in base units with --base-units.",
)
@click.option("--base-units", is_flag=True, help="--amount is in the token's base units.")
@click.option(
    "--gas-price", default="0", show_default=True, help="Gas price in gwei (0 = ignore gas)."
)
@click.option("--max-hops", default=3, show_default=True, type=int, help="Longest path.")
@click.option("--eth-price", type=float, help="Buy-token base units per wei (default: WETH pools).")
@click.option("--json", "as_json", is_flag=True, help="Print the route as JSON.")
def quote(
    pools_file: str | None,
    rpc: str | None,
    v2_pool: tuple[str, ...],
    v3_pool: tuple[str, ...],
    weth: str | None,
    save_path: str | None,
    sell: str,
    buy: str,
    amount: str,
    base_units: bool,
    gas_price: str,
    max_hops: int,
    eth_price: float | None,
    as_json: bool,
) -> None:
    """Quote the best gas-aware split / multi-hop route for selling AMOUNT of SELL for BUY."""
    from keeper.routing.route import route
    from keeper.routing.snapshot import Snapshot

    if (pools_file is None) == (rpc is None):
        raise SnapshotError("pools", "give exactly one of --pools SNAPSHOT.json or --rpc URL")
    snapshot = (
        Snapshot.load(pools_file)
        if pools_file
        else _live_snapshot(rpc or "", v2_pool, v3_pool, weth)
    )
    if save_path:
        snapshot.save(save_path)
    token_in = snapshot.token(sell, "sell")
    units = (
        _amount(amount, "amount")
        if base_units
        else _whole(amount, "--amount", token_in.decimals, token_in.symbol or token_in.address)
    )
    gwei = 0 if _is_zero(gas_price) else _whole(gas_price, "--gas-price", 9, "gwei")
    if gwei > MAX_GWEI * 10**9:
        raise AmountError("--gas-price", gas_price, f"more than {MAX_GWEI:,} gwei: give it in gwei")
    result = route(
        snapshot,
        sell,
        buy,
        units,
        gwei,
        max_hops=max_hops,
        eth_price=eth_price,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    symbols = {t.address: t.symbol or t.address[:10] for t in snapshot.tokens}
    decimals = {t.address: t.decimals for t in snapshot.tokens}

    def human(token: str, units: int) -> str:
        return f"{units / 10 ** decimals[token]:,.6g} {symbols[token]}"

    click.echo(
        f"sell {human(result.sell_token, result.amount_in)} -> "
        f"buy {human(result.buy_token, result.amount_out)}  "
        f"({result.method}, {len(result.legs)} legs)"
    )
    click.echo(f"{'pool':44} {'kind':4} {'fee':>6} {'in':>26} {'out':>26} ticks")
    for leg in result.legs:
        click.echo(
            f"{leg.pool:44} {leg.kind:4} {leg.fee:>6} {human(leg.token_in, leg.amount_in):>26} "
            f"{human(leg.token_out, leg.amount_out):>26} {leg.ticks_crossed:>5}"
        )
    click.echo(
        f"out {human(result.buy_token, result.amount_out)}  gas {result.gas_estimate:,} "
        f"(= {human(result.buy_token, result.gas_cost)})  "
        f"net {human(result.buy_token, result.net_amount_out)}"
    )
    scale = 10.0 ** (decimals[result.sell_token] - decimals[result.buy_token])
    click.echo(
        f"price ({symbols[result.buy_token]} per {symbols[result.sell_token]}): "
        f"spot {result.spot_price * scale:.6g}  execution {result.execution_price * scale:.6g}  "
        f"marginal {result.certificate.marginal_price * scale:.6g}  "
        f"impact {result.price_impact * 100:.3f}%"
    )
