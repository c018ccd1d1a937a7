"""``keeper intent sign|submit|cancel|list``: the user's side of intents.

``sign`` builds a rebalance intent and signs it (EIP-712) with an Ape account alias (for a
smart-wallet owner, ``--owner``, the account signs the intent's digest for the wallet); ``submit``
posts signed intents to a keeper's intake; ``cancel`` spends a nonce on-chain (the owner's own
transaction), so the intent can never settle; ``list`` shows what a keeper holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from keeper.exceptions import KeeperError

DEFAULT_INTAKE = "http://127.0.0.1:8547"
_DECIMALS_ABI = [
    {
        "name": "decimals",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    }
]
_INVALIDATE_ABI = [
    {
        "name": "invalidateNonces",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "word", "type": "uint256"}, {"name": "mask", "type": "uint256"}],
        "outputs": [],
    }
]


class LegError(KeeperError):
    def __init__(self, option: str, value: str, problem: str) -> None:
        self.option, self.value, self.problem = option, value, problem
        super().__init__(f"{option} {value!r}: {problem}")


def _web3(rpc_url: str) -> Any:
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))


def _market(deployments: Path | None, chain_id: int) -> Any:
    if deployments is None:
        return None
    from keeper.market.deployments import load_deployments

    return load_deployments(deployments, chain_id)


def _executor(executor: str | None, record: Any) -> str:
    if executor:
        return executor
    if record is not None and record.executor is not None:
        return str(record.executor.address)
    raise KeeperError("--executor: not given and no executor in the deployments file")


def choose_nonce(web3: Any, executor: str, owner: str, taken: set[int], max_words: int = 64) -> int:
    """The lowest nonce unused on-chain and not in ``taken``, filling one bitmap word before the
    next: settling a nonce in a word the owner already used costs ~17k gas less than in a fresh
    word (docs/INTENTS.md)."""
    from eth_utils import keccak

    from keeper.intents.types import next_free_nonce

    selector = keccak(text="nonceBitmap(address,uint256)")[:4]
    for word in range(max_words):
        data = selector + bytes.fromhex(owner[2:].lower().rjust(64, "0")) + word.to_bytes(32, "big")
        bitmap = int.from_bytes(web3.eth.call({"to": executor, "data": data}), "big")
        if (found := next_free_nonce(bitmap, word, taken)) is not None:
            return found
    raise KeeperError(f"--nonce: the first {max_words} nonce words of {owner} are all used")


def _pending_nonces(keeper_url: str, owner: str) -> set[int]:
    """Nonces of ``owner``'s intents that the keeper at ``keeper_url`` has not finished."""
    import requests

    from keeper.intents.states import IntentState

    try:
        response = requests.get(
            f"{keeper_url.rstrip('/')}/intents", params={"owner": owner}, timeout=10
        )
        response.raise_for_status()
        records = response.json()["intents"]
    except (requests.RequestException, ValueError, KeyError) as err:
        raise KeeperError(f"--keeper-url: cannot list intents at {keeper_url}: {err}") from err
    return {int(r["nonce"]) for r in records if not IntentState(r["state"]).terminal}


def parse_leg(option: str, text: str, web3: Any, market: Any) -> tuple[str, int]:
    """``TOKEN:AMOUNT`` (symbol from the deployments, or address) in whole tokens -> base units."""
    from decimal import Decimal, InvalidOperation

    from eth_utils import is_address, to_checksum_address

    token, _, amount = text.partition(":")
    try:
        whole = Decimal(amount)
    except InvalidOperation:
        raise LegError(option, text, "expected TOKEN:AMOUNT, e.g. WETH:1.5") from None
    if whole <= 0:
        raise LegError(option, text, "amount must be positive")
    if is_address(token):
        address = to_checksum_address(token)
        contract = web3.eth.contract(address=address, abi=_DECIMALS_ABI)
        decimals = int(contract.functions.decimals().call())
    elif market is not None and market.market is not None:
        try:
            found = market.market.token(token)
        except KeeperError as err:
            raise LegError(option, text, str(err)) from None
        address, decimals = found.address, found.decimals
    else:
        raise LegError(option, text, "unknown symbol (give --deployments, or an address)")
    return address, int(whole * 10**decimals)


@click.group()
def intent() -> None:
    """Create, sign, submit, cancel and list rebalance intents."""


@intent.command()
@click.option(
    "--account", "alias", required=True, help="Ape account alias (TEST::<n> on dev chains)"
)
@click.option("--rpc-url", required=True)
@click.option("--deployments", type=click.Path(path_type=Path, exists=True))
@click.option("--executor", help="BatchExecutor address (else from --deployments)")
@click.option("--sell", "sells", multiple=True, required=True, help="TOKEN:MAX (whole tokens)")
@click.option("--buy", "buys", multiple=True, required=True, help="TOKEN:MIN (whole tokens)")
@click.option(
    "--nonce",
    type=int,
    help="unordered nonce (default: the lowest one unused on-chain and at --keeper-url)",
)
@click.option(
    "--keeper-url",
    help="keeper intake URL; nonces of your intents it still holds are not reused",
)
@click.option("--ttl", type=int, default=3600, show_default=True, help="seconds to the deadline")
@click.option("--keeper", "designated", help="only this keeper may settle it")
@click.option(
    "--owner",
    help="a smart wallet (ERC-1271) that accepts --account's signature of the intent's digest "
    "(default: --account itself)",
)
@click.option("--out", type=click.Path(path_type=Path), help="write here instead of stdout")
def sign(
    alias: str,
    rpc_url: str,
    deployments: Path | None,
    executor: str | None,
    sells: tuple[str, ...],
    buys: tuple[str, ...],
    nonce: int | None,
    keeper_url: str | None,
    ttl: int,
    designated: str | None,
    owner: str | None,
    out: Path | None,
) -> None:
    """Build and sign an intent; prints the submission JSON."""
    from eth_utils import is_address, to_checksum_address

    from keeper.chain.signer import load_signer
    from keeper.intents.signing import sign_intent, sign_intent_digest
    from keeper.intents.types import ZERO_ADDRESS, RebalanceIntent, TokenAmount
    from keeper.intents.validation import SignedIntent

    if owner is not None and not is_address(owner):
        raise KeeperError(f"--owner {owner!r}: expected a 0x address (the smart wallet)")
    web3 = _web3(rpc_url)
    chain_id = int(web3.eth.chain_id)
    record = _market(deployments, chain_id)
    account = load_signer(alias)
    owner_address = to_checksum_address(owner) if owner else str(account.address)
    if owner_address != str(account.address) and not web3.eth.get_code(owner_address):
        raise KeeperError(f"--owner {owner_address}: has no code, so it cannot be a smart wallet")
    legs: dict[str, list[TokenAmount]] = {"sells": [], "buys": []}
    for side, items in (("sells", sells), ("buys", buys)):
        for text in items:
            token, amount = parse_leg(f"--{side[:-1]}", text, web3, record)
            legs[side].append(TokenAmount(token=token, amount=amount))
    now = int(web3.eth.get_block("latest")["timestamp"])
    executor_address = _executor(executor, record)
    if nonce is None:
        pending = _pending_nonces(keeper_url, owner_address) if keeper_url else set()
        nonce = choose_nonce(web3, executor_address, owner_address, pending)
    signed_intent = RebalanceIntent(
        owner=owner_address,
        executor=executor_address,
        keeper=designated or ZERO_ADDRESS,
        nonce=nonce,
        deadline=now + ttl,
        sells=legs["sells"],
        buys=legs["buys"],
    )
    if owner_address == str(account.address):
        signature = sign_intent(signed_intent, account, chain_id)
    else:  # the wallet's signer signs the digest; intake asks the wallet whether it agrees
        signature = sign_intent_digest(signed_intent, account, chain_id)
    body = json.dumps(
        SignedIntent(intent=signed_intent, signature=signature, chain_id=chain_id).to_wire(),
        indent=2,
    )
    if out is not None:
        out.write_text(body + "\n")
        click.echo(f"signed intent nonce {signed_intent.nonce} -> {out}")
    else:
        click.echo(body)


@intent.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--url", default=DEFAULT_INTAKE, show_default=True, help="keeper intake")
def submit(files: tuple[Path, ...], url: str) -> None:
    """Post signed intents to a keeper; prints each id or the rejected field."""
    import requests

    failed = 0
    for path in files:
        try:
            answer = requests.post(f"{url}/intents", data=path.read_bytes(), timeout=30)
        except requests.RequestException as err:
            raise KeeperError(f"--url {url}: {err}") from None
        try:
            data = answer.json()
        except ValueError:  # not the keeper's own answer (a proxy's 502 page, a cut body)
            data = {"error": {"code": "unavailable", "problem": f"HTTP {answer.status_code}"}}
        if "error" in data:
            failed += 1
            error = data["error"]
            if answer.status_code == 503 or error.get("code") == "unavailable":
                # Not a verdict on the intent: nothing was decided, the same file may be sent again.
                wait = answer.headers.get("Retry-After", "a few")
                click.echo(
                    f"{path}: keeper temporarily unavailable, retry in {wait} s "
                    f"({error.get('problem', '')})",
                    err=True,
                )
                continue
            click.echo(f"{path}: rejected: {error['field']}: {error['problem']}", err=True)
        else:
            click.echo(f"{path}: {data['state']} {data['id']}")
    if failed:
        sys.exit(1)


@intent.command()
@click.option("--account", "alias", required=True, help="the intent owner's Ape account alias")
@click.option("--rpc-url", required=True)
@click.option("--nonce", type=int, required=True)
@click.option("--deployments", type=click.Path(path_type=Path, exists=True))
@click.option("--executor")
def cancel(
    alias: str, rpc_url: str, nonce: int, deployments: Path | None, executor: str | None
) -> None:
    """Spend ``nonce`` on-chain (invalidateNonces): the intent can never settle."""
    from ape_ethereum.transactions import DynamicFeeTransaction

    from keeper.chain.signer import load_signer

    web3 = _web3(rpc_url)
    chain_id = int(web3.eth.chain_id)
    account = load_signer(alias)
    target = _executor(executor, _market(deployments, chain_id))
    contract = web3.eth.contract(address=target, abi=_INVALIDATE_ABI)
    data = contract.encode_abi("invalidateNonces", [nonce >> 8, 1 << (nonce & 0xFF)])
    base_fee = int(web3.eth.get_block("latest").get("baseFeePerGas", 0))
    call = {"from": str(account.address), "to": target, "data": data}
    tx = DynamicFeeTransaction(
        chainId=chain_id,
        receiver=target,
        data=bytes.fromhex(data[2:]),
        nonce=web3.eth.get_transaction_count(str(account.address)),
        gas=int(web3.eth.estimate_gas(call) * 1.2),
        maxFeePerGas=2 * base_fee + 10**9,
        maxPriorityFeePerGas=10**9,
    )
    signed = account.sign_transaction(tx)
    if signed is None:
        raise KeeperError(f"--account {alias}: declined to sign")
    tx_hash = web3.eth.send_raw_transaction(signed.serialize_transaction())
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    status = "cancelled" if receipt["status"] == 1 else "FAILED"
    click.echo(f"nonce {nonce} {status} in tx 0x{bytes(tx_hash).hex()}")


@intent.command(name="list")
@click.option("--url", default=DEFAULT_INTAKE, show_default=True)
@click.option("--state", "states", multiple=True)
@click.option("--owner")
def list_intents(url: str, states: tuple[str, ...], owner: str | None) -> None:
    """Intents the keeper holds: id, owner, nonce, state, reason."""
    import requests

    params: list[tuple[str, str]] = [("state", s) for s in states]
    if owner:
        params.append(("owner", owner))
    try:
        answer = requests.get(f"{url}/intents", params=params, timeout=30)
    except requests.RequestException as err:
        raise KeeperError(f"--url {url}: {err}") from None
    for record in answer.json().get("intents", []):
        reason = f"  ({record['reason']})" if record.get("reason") else ""
        refund = record.get("refund") or {}
        earned = (
            f"  refund earned {int(refund['earnedWei']) / 1e18:.9f} ETH, "
            f"credited {int(refund['creditedWei']) / 1e18:.9f} ETH"
            if refund
            else ""
        )
        click.echo(
            f"{record['id']}  {record['owner']}  nonce {record['nonce']:>6}  "
            f"{record['state']:<9}{reason}{earned}"
        )
