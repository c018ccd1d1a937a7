"""``keeper vault approve|permit|status|lockdown``: the user's allowances for the executor.

Before an intent can settle, the owner must (1) ``approve`` the vault in each sold token's
ERC-20 contract and (2) set a vault allowance (amount and expiry) for that token;
``keeper vault approve`` does both, in whole tokens. ``permit`` signs the vault allowance
offline (anyone may submit it; no gas for the owner); ``status`` shows what a keeper checks;
``lockdown`` revokes the vault allowances and every outstanding permit at once.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from keeper.exceptions import KeeperError
from keeper.intents.cli_support import (
    InputError,
    TokenBook,
    connect,
    load_record,
    parse_address,
)
from keeper.units import AmountError, format_units, parse_units

UINT160_MAX = 2**160 - 1
UINT48_MAX = 2**48 - 1
#: 9999-12-31 00:00 UTC, the last day ``datetime`` can show (in any time zone)
_LAST_DATE = 253_402_214_400
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}

_VAULT_ABI = [
    {"name": "approve", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint160"},
                {"name": "expiration", "type": "uint48"}], "outputs": []},
    {"name": "lockdown", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "tokens", "type": "address[]"}], "outputs": []},
    {"name": "allowance", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "token", "type": "address"}],
     "outputs": [{"name": "amount", "type": "uint160"}, {"name": "expiration", "type": "uint48"},
                 {"name": "nonce", "type": "uint48"}]},
]  # fmt: skip
_ERC20_ABI = [
    {"name": "approve", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"name": "allowance", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "balanceOf", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
]  # fmt: skip


def parse_expiry(text: str, now: int) -> int:
    """``30d``, ``12h``, ``1y``, ``never`` or an ISO date/time (UTC) -> unix seconds."""
    cleaned = text.strip().lower()
    if cleaned == "never":
        return UINT48_MAX
    match = re.fullmatch(r"(\d+)\s*([mhdwy])", cleaned)
    if match:
        return now + int(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            "--expires", text, "expected a duration (30d, 12h, 1y), 'never' or a date (2027-01-31)"
        ) from None
    stamp = int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    if stamp <= now:
        raise InputError("--expires", text, "is in the past")
    return stamp


def _amount(text: str, decimals: int, symbol: str) -> int:
    if text.strip().lower() in ("unlimited", "max"):
        return UINT160_MAX
    units = parse_units("AMOUNT", text, decimals, symbol)
    if units > UINT160_MAX:
        raise AmountError("AMOUNT", text, "larger than a vault allowance can be (uint160)")
    return units


def _show(units: int, decimals: int, symbol: str) -> str:
    return "unlimited" if units >= UINT160_MAX else f"{format_units(units, decimals)} {symbol}"


def _when(stamp: int) -> str:
    if stamp == 0:
        return "never set"
    if stamp >= UINT48_MAX:
        return "never expires"
    if stamp > _LAST_DATE:  # e.g. 2**40: beyond what a calendar date can show
        return "until after the year 9999"
    return f"until {datetime.fromtimestamp(stamp).astimezone():%Y-%m-%d %H:%M %Z}"


def _vault(web3: Any, vault: str | None, deployments: Path | None) -> str:
    if vault:
        return parse_address("--vault", vault)
    record = load_record(deployments, int(web3.eth.chain_id))
    if record is None or record.executor is None:
        raise KeeperError("--vault: not given and no executor recorded in the deployments file")
    return str(record.executor.vault)


def send(web3: Any, account: Any, to: str, data: str, what: str) -> str:
    """Sign ``data`` to ``to`` with the Ape ``account``, send it and wait; the tx hash."""
    from ape_ethereum.transactions import DynamicFeeTransaction

    sender = str(account.address)
    base_fee = int(web3.eth.get_block("latest").get("baseFeePerGas", 0))
    tx = DynamicFeeTransaction(
        chainId=int(web3.eth.chain_id),
        receiver=to,
        data=bytes.fromhex(data[2:]),
        nonce=web3.eth.get_transaction_count(sender),
        gas=int(web3.eth.estimate_gas({"from": sender, "to": to, "data": data}) * 1.2),
        maxFeePerGas=2 * base_fee + 10**9,
        maxPriorityFeePerGas=10**9,
    )
    signed = account.sign_transaction(tx)
    if signed is None:
        raise KeeperError(f"--account: declined to sign the {what}")
    tx_hash = web3.eth.send_raw_transaction(signed.serialize_transaction())
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt["status"] != 1:
        raise KeeperError(f"{what}: transaction 0x{bytes(tx_hash).hex()} reverted")
    return "0x" + bytes(tx_hash).hex()


_COMMON = [
    click.option("--rpc-url", required=True, help="JSON-RPC URL of a node"),
    click.option("--deployments", type=click.Path(path_type=Path, exists=True, dir_okay=False)),
    click.option("--vault", help="AllowanceVault address (else from the deployments file)"),
]


def _common(fn: Any) -> Any:
    for option in reversed(_COMMON):
        fn = option(fn)
    return fn


@click.group()
def vault() -> None:
    """Approve, permit, inspect and revoke what the executor may pull from you."""


@vault.command()
@click.argument("token")
@click.argument("amount")
@click.option("--expires", default="30d", show_default=True, help="30d, 12h, 1y, never, a date")
@click.option("--account", "alias", required=True, help="your Ape account alias (TEST::<n>)")
@_common
def approve(
    token: str,
    amount: str,
    expires: str,
    alias: str,
    rpc_url: str,
    deployments: Path | None,
    vault: str | None,
) -> None:
    """Let the executor pull up to AMOUNT whole TOKEN (or 'unlimited') until --expires: the
    ERC-20 approval of the vault (if short) and the vault allowance, one transaction each."""
    from keeper.chain.signer import load_signer

    web3 = connect(rpc_url)
    vault_address = _vault(web3, vault, deployments)
    info = TokenBook(web3, load_record(deployments, int(web3.eth.chain_id))).by_symbol(
        "TOKEN", token
    )
    units = _amount(amount, info.decimals, info.symbol)
    now = int(web3.eth.get_block("latest")["timestamp"])
    expiration = parse_expiry(expires, now)
    account = load_signer(alias)
    erc20 = web3.eth.contract(address=info.address, abi=_ERC20_ABI)
    approved = int(erc20.functions.allowance(str(account.address), vault_address).call())
    if approved < units:
        want = 2**256 - 1 if units >= UINT160_MAX else units
        data = erc20.encode_abi("approve", [vault_address, want])
        tx = send(web3, account, info.address, data, f"{info.symbol} approval of the vault")
        click.echo(
            f"{info.symbol}.approve(vault, {_show(units, info.decimals, info.symbol)}): {tx}"
        )
    contract = web3.eth.contract(address=vault_address, abi=_VAULT_ABI)
    data = contract.encode_abi("approve", [info.address, units, expiration])
    tx = send(web3, account, vault_address, data, "vault allowance")
    click.echo(
        f"vault allowance {_show(units, info.decimals, info.symbol)} {_when(expiration)}: {tx}"
    )


@vault.command()
@click.argument("token")
@click.argument("amount")
@click.option("--expires", default="30d", show_default=True, help="30d, 12h, 1y, never, a date")
@click.option("--ttl", type=int, default=3600, show_default=True, help="seconds to submit it in")
@click.option("--account", "alias", required=True, help="your Ape account alias (TEST::<n>)")
@click.option("--out", type=click.Path(path_type=Path), help="write here instead of stdout")
@_common
def permit(
    token: str,
    amount: str,
    expires: str,
    ttl: int,
    alias: str,
    out: Path | None,
    rpc_url: str,
    deployments: Path | None,
    vault: str | None,
) -> None:
    """Sign (only) a vault allowance of AMOUNT whole TOKEN until --expires; anyone may submit
    it to the vault's permit() (no gas for you). Prints {"permit", "signature"} JSON."""
    from keeper.chain.signer import load_signer
    from keeper.intents.signing import sign_permit
    from keeper.intents.types import AllowancePermit

    web3 = connect(rpc_url)
    chain_id = int(web3.eth.chain_id)
    vault_address = _vault(web3, vault, deployments)
    info = TokenBook(web3, load_record(deployments, chain_id)).by_symbol("TOKEN", token)
    units = _amount(amount, info.decimals, info.symbol)
    now = int(web3.eth.get_block("latest")["timestamp"])
    account = load_signer(alias)
    contract = web3.eth.contract(address=vault_address, abi=_VAULT_ABI)
    _, _, nonce = contract.functions.allowance(str(account.address), info.address).call()
    signed = AllowancePermit(
        owner=str(account.address),
        token=info.address,
        amount=units,
        expiration=parse_expiry(expires, now),
        nonce=int(nonce),
        deadline=now + ttl,
    )
    signature = sign_permit(signed, account, chain_id, vault_address)
    click.echo(
        f"permit: {_show(units, info.decimals, info.symbol)} {_when(signed.expiration)}, "
        f"nonce {nonce}, submit before {_when(signed.deadline).removeprefix('until ')}",
        err=True,
    )
    body = json.dumps(
        {"permit": json.loads(signed.to_json()), "signature": "0x" + signature.hex()}, indent=2
    )
    if out is not None:
        out.write_text(body + "\n")
        click.echo(f"signed permit -> {out}")
    else:
        click.echo(body)


@vault.command()
@click.argument("owner")
@click.option("--token", "tokens", multiple=True, help="only these tokens (default: the market's)")
@_common
def status(
    owner: str,
    tokens: tuple[str, ...],
    rpc_url: str,
    deployments: Path | None,
    vault: str | None,
) -> None:
    """What the executor may pull from OWNER, per token: balance, ERC-20 approval of the
    vault, vault allowance and its expiry (what a keeper's intake checks)."""
    owner = parse_address("OWNER", owner)
    web3 = connect(rpc_url)
    record = load_record(deployments, int(web3.eth.chain_id))
    vault_address = _vault(web3, vault, deployments)
    infos = _chosen_tokens(TokenBook(web3, record), record, "--token", tokens)
    contract = web3.eth.contract(address=vault_address, abi=_VAULT_ABI)
    now = int(web3.eth.get_block("latest")["timestamp"])  # expiries are in chain time
    click.echo(f"vault {vault_address} for {owner}")
    for info in infos:
        erc20 = web3.eth.contract(address=info.address, abi=_ERC20_ABI)
        balance = int(erc20.functions.balanceOf(owner).call())
        approved = int(erc20.functions.allowance(owner, vault_address).call())
        amount, expiration, _ = contract.functions.allowance(owner, info.address).call()
        ready = min(approved, int(amount), balance) if 0 < int(expiration) > now else 0
        click.echo(
            f"  {info.symbol:<6} balance {format_units(balance, info.decimals)}, "
            f"ERC-20 approval {_show(min(approved, UINT160_MAX), info.decimals, info.symbol)}, "
            f"vault allowance {_show(int(amount), info.decimals, info.symbol)} "
            f"{_when(int(expiration))} -> sellable now {format_units(ready, info.decimals)}"
        )


def _chosen_tokens(book: TokenBook, record: Any, option: str, tokens: tuple[str, ...]) -> list[Any]:
    """The tokens a person named under ``option``, else every token of the recorded market."""
    if tokens:
        return [book.by_symbol(option, t) for t in tokens]
    if record is not None and record.market is not None:
        return [book.by_address(t.address) for t in record.market.tokens]
    raise KeeperError(f"{option}: give tokens (no market in the deployments file)")


@vault.command()
@click.argument("tokens", nargs=-1)
@click.option("--account", "alias", required=True, help="your Ape account alias (TEST::<n>)")
@_common
def lockdown(
    tokens: tuple[str, ...], alias: str, rpc_url: str, deployments: Path | None, vault: str | None
) -> None:
    """Revoke your vault allowances for TOKENS (default: every token of the market) and every
    outstanding permit for them, in one transaction."""
    from keeper.chain.signer import load_signer

    web3 = connect(rpc_url)
    record = load_record(deployments, int(web3.eth.chain_id))
    vault_address = _vault(web3, vault, deployments)
    infos = _chosen_tokens(TokenBook(web3, record), record, "TOKENS", tokens)
    account = load_signer(alias)
    contract = web3.eth.contract(address=vault_address, abi=_VAULT_ABI)
    data = contract.encode_abi("lockdown", [[i.address for i in infos]])
    tx = send(web3, account, vault_address, data, "lockdown")
    click.echo(f"locked down {', '.join(i.symbol for i in infos)}: {tx}")
