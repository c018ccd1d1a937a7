"""``keeper intent sign|typed-data|submit|cancel|list``: the user's side of intents.

``sign`` builds a rebalance intent (from ``--sell``/``--buy`` in whole tokens, or from the file
``keeper propose --out`` wrote), shows it for review in whole tokens and signs it (EIP-712) with
an Ape account alias once confirmed; ``typed-data`` writes the same intent for a wallet's
``eth_signTypedData_v4``; ``submit`` posts signed intents (or a wallet's typed data and
signature) to a keeper's intake; ``cancel`` spends a nonce on-chain (the owner's own
transaction), so the intent can never settle; ``list`` shows what a keeper holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from keeper.exceptions import KeeperError
from keeper.intents.cli_support import (
    DEFAULT_INTAKE,
    MIN_TTL_S,
    TokenBook,
    check_sides,
    check_ttl,
    choose_nonce,
    connect,
    executor_address,
    intake_get,
    load_record,
    parse_address,
    parse_leg,
    pending_nonces,
    wait_terminal,
)

__all__ = ["choose_nonce", "intent"]

_INVALIDATE_ABI = [
    {
        "name": "invalidateNonces",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "word", "type": "uint256"}, {"name": "mask", "type": "uint256"}],
        "outputs": [],
    }
]


@click.group()
def intent() -> None:
    """Create, review, sign, submit, cancel and list rebalance intents."""


def _manual_intent(
    web3: Any,
    book: TokenBook,
    owner: str,
    executor: str,
    sells: tuple[str, ...],
    buys: tuple[str, ...],
    nonce: int | None,
    keeper_url: str | None,
    ttl: int,
    designated: str | None,
) -> Any:
    from keeper.intents.types import ZERO_ADDRESS, RebalanceIntent, TokenAmount

    if not sells or not buys:
        raise KeeperError("--sell and --buy: give at least one of each (or --from a proposal)")
    check_ttl(ttl)
    legs: dict[str, list[TokenAmount]] = {"sells": [], "buys": []}
    for side, items in (("sells", sells), ("buys", buys)):
        for text in items:
            token, amount = parse_leg(f"--{side[:-1]}", text, book)
            legs[side].append(TokenAmount(token=token, amount=amount))
    check_sides([t.token for t in legs["sells"]], [t.token for t in legs["buys"]], book)
    now = int(web3.eth.get_block("latest")["timestamp"])
    if nonce is None:
        pending = pending_nonces(keeper_url, owner) if keeper_url else set()
        nonce = choose_nonce(web3, executor, owner, pending)
    return RebalanceIntent(
        owner=owner,
        executor=executor,
        keeper=parse_address("--keeper", designated) if designated else ZERO_ADDRESS,
        nonce=nonce,
        deadline=now + ttl,
        sells=legs["sells"],
        buys=legs["buys"],
    )


def _proposal_intents(path: Path, owner: str | None, book: TokenBook) -> tuple[Any, list[Any]]:
    """The proposal file at ``path`` and its intents, checked like typed legs are."""
    from keeper.intents.proposal_file import load_proposal

    proposal = load_proposal(path)
    for intent_ in proposal.intents:
        if owner is not None and intent_.owner.lower() != owner.lower():
            raise KeeperError(
                f"--from {path}: the intents are for owner {intent_.owner}, "
                f"not for the signing account {owner}"
            )
        check_sides([t.token for t in intent_.sells], [t.token for t in intent_.buys], book)
    return proposal, list(proposal.intents)


def _review(
    web3: Any, intents: list[Any], chain_id: int, book: TokenBook, yes: bool, legs: Any = ()
) -> None:
    from keeper.intents.review import review_lines

    now = int(web3.eth.get_block("latest")["timestamp"]) if web3 is not None else 0
    for line in review_lines(intents, chain_id, now, book.by_address, legs):
        click.echo(line, err=True)
    if yes:
        return
    what = "this intent" if len(intents) == 1 else f"these {len(intents)} intents"
    try:
        confirmed = click.confirm(f"Sign {what}?", err=True)
    except click.Abort:  # end of input (no terminal): nothing was confirmed
        click.echo("", err=True)
        confirmed = False
    if not confirmed:
        raise KeeperError("not signed: answer y to sign, or pass --yes (scripts)")


def _write(payload: Any, out: Path | None, what: str) -> None:
    body = json.dumps(payload, indent=2)
    if out is not None:
        out.write_text(body + "\n")
        click.echo(f"{what} -> {out}")
    else:
        click.echo(body)


@intent.command()
@click.option(
    "--account", "alias", required=True, help="Ape account alias (TEST::<n> on dev chains)"
)
@click.option("--rpc-url", required=True)
@click.option("--deployments", type=click.Path(path_type=Path, exists=True))
@click.option("--executor", help="BatchExecutor address (else from --deployments)")
@click.option(
    "--from",
    "proposal_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="sign the intents of this proposal file (keeper propose --out)",
)
@click.option("--sell", "sells", multiple=True, help="TOKEN:MAX in whole tokens, e.g. WETH:1.5")
@click.option("--buy", "buys", multiple=True, help="TOKEN:MIN in whole tokens, e.g. USDC:4000")
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
@click.option("--yes", is_flag=True, help="sign without asking (scripts); the review still prints")
@click.option("--out", type=click.Path(path_type=Path), help="write here instead of stdout")
def sign(
    alias: str,
    rpc_url: str,
    deployments: Path | None,
    executor: str | None,
    proposal_file: Path | None,
    sells: tuple[str, ...],
    buys: tuple[str, ...],
    nonce: int | None,
    keeper_url: str | None,
    ttl: int,
    designated: str | None,
    owner: str | None,
    yes: bool,
    out: Path | None,
) -> None:
    """Review and sign an intent (--sell/--buy) or a proposal's intents (--from).

    The review (every limit in whole tokens, the fee cap, the deadline in local time, executor
    and chain) goes to stderr; the signed submission JSON to --out or stdout."""
    from eth_utils import is_address, to_checksum_address

    from keeper.chain.signer import load_signer
    from keeper.intents.signing import sign_intent, sign_intent_digest
    from keeper.intents.validation import SignedIntent

    if owner is not None and not is_address(owner):
        raise KeeperError(f"--owner {owner!r}: expected a 0x address (the smart wallet)")
    web3 = connect(rpc_url)
    chain_id = int(web3.eth.chain_id)
    record = load_record(deployments, chain_id)
    account = load_signer(alias)
    signer = str(account.address)
    owner = to_checksum_address(owner) if owner else signer
    if owner != signer and not web3.eth.get_code(owner):
        raise KeeperError(f"--owner {owner}: has no code, so it cannot be a smart wallet")
    if proposal_file is not None:
        if sells or buys:
            raise KeeperError("--from: give either a proposal file or --sell/--buy, not both")
        book = TokenBook(web3, record)
        proposal, intents = _proposal_intents(proposal_file, owner, book)
        book.cache.update({t.address.lower(): t for t in proposal.tokens})
        if proposal.chain_id is not None and proposal.chain_id != chain_id:
            raise KeeperError(
                f"--from {proposal_file}: proposed for chain {proposal.chain_id}, "
                f"but --rpc-url is chain {chain_id}"
            )
        now = int(web3.eth.get_block("latest")["timestamp"])
        late = [i for i in intents if i.deadline < now + MIN_TTL_S]
        if late:
            raise KeeperError(
                f"--from {proposal_file}: intent nonce {late[0].nonce} is past its deadline or "
                f"within {MIN_TTL_S} s of it; run 'keeper propose' again"
            )
    else:
        book, proposal = TokenBook(web3, record), None
        executor_ = executor_address(executor, record)
        intents = [
            _manual_intent(web3, book, owner, executor_, sells, buys, nonce, keeper_url, ttl,
                           designated)
        ]  # fmt: skip
    _review(web3, intents, chain_id, book, yes, proposal.legs if proposal_file else ())

    def signature(i: Any) -> bytes:
        if owner == signer:
            return sign_intent(i, account, chain_id)
        # a smart wallet's signer signs the digest; intake asks the wallet whether it agrees
        return sign_intent_digest(i, account, chain_id)

    signed = [SignedIntent(intent=i, signature=signature(i), chain_id=chain_id) for i in intents]
    payload = signed[0].to_wire() if len(signed) == 1 else [s.to_wire() for s in signed]
    nonces = ", ".join(str(i.nonce) for i in intents)
    _write(payload, out, f"signed intent nonce {nonces}")


@intent.command("typed-data")
@click.option(
    "--from",
    "proposal_file",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="the proposal file (keeper propose --out)",
)
@click.option("--index", type=int, default=0, show_default=True, help="which intent of the file")
@click.option("--chain-id", type=int, help="the chain (else the one the proposal names)")
@click.option("--out", type=click.Path(path_type=Path), help="write here instead of stdout")
def typed_data(proposal_file: Path, index: int, chain_id: int | None, out: Path | None) -> None:
    """Write a proposal's intent as eth_signTypedData_v4 JSON for a wallet to sign.

    Sign it in the wallet, then: keeper intent submit --typed-data FILE --signature 0x…"""
    from keeper.intents.proposal_file import load_proposal
    from keeper.intents.review import review_lines
    from keeper.intents.wallet import ETHERS_NOTE, typed_data_document

    proposal = load_proposal(proposal_file)
    chain = chain_id if chain_id is not None else proposal.chain_id
    if chain is None:
        raise KeeperError(f"--chain-id: {proposal_file} names no chain; give --chain-id")
    if not 0 <= index < len(proposal.intents):
        raise KeeperError(
            f"--index {index}: {proposal_file} holds {len(proposal.intents)} intent(s), "
            f"0 to {len(proposal.intents) - 1}"
        )
    intent_ = proposal.intents[index]
    book = TokenBook(None, None, proposal.tokens)
    for line in review_lines([intent_], chain, 0, book.by_address, proposal.legs)[:-1]:
        click.echo(line, err=True)
    click.echo(f"note: {ETHERS_NOTE}", err=True)
    _write(typed_data_document(intent_, chain), out, f"typed data of nonce {intent_.nonce}")


def _submissions(files: tuple[Path, ...], typed: Path | None, signature: str | None) -> list[Any]:
    """(label, body) pairs from signed-intent files (one submission or a list of them) and/or
    a wallet's typed data plus its signature."""
    from keeper.intents.wallet import parse_signature, signed_from_typed_data

    out: list[tuple[str, Any]] = []
    if (typed is None) != (signature is None):
        raise KeeperError("--typed-data and --signature: give both (what the wallet signed, and "
                          "its 0x signature)")  # fmt: skip
    if typed is not None and signature is not None:
        try:
            document = json.loads(typed.read_text())
        except ValueError as err:
            raise KeeperError(f"--typed-data {typed}: not JSON ({err})") from None
        signed = signed_from_typed_data(document, parse_signature(signature))
        out.append((str(typed), signed.to_wire()))
    for path in files:
        try:
            data = json.loads(path.read_text())
        except ValueError as err:
            raise KeeperError(f"{path}: not JSON ({err})") from None
        items = data if isinstance(data, list) else [data]
        out.extend(
            (f"{path}[{k}]" if isinstance(data, list) else str(path), item)
            for k, item in enumerate(items)
        )
    if not out:
        raise KeeperError("submit: give signed-intent FILES, or --typed-data and --signature")
    return out


@intent.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--url", default=DEFAULT_INTAKE, show_default=True, help="keeper intake")
@click.option(
    "--typed-data",
    "typed",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="the eth_signTypedData_v4 JSON a wallet signed (keeper intent typed-data)",
)
@click.option("--signature", help="the wallet's 0x signature of --typed-data")
@click.option(
    "--wait",
    type=float,
    default=None,
    help="then wait up to this many seconds for each intent to settle (or fail)",
)
def submit(
    files: tuple[Path, ...],
    url: str,
    typed: Path | None,
    signature: str | None,
    wait: float | None,
) -> None:
    """Post signed intents to a keeper; prints each id or the rejected field."""
    import requests

    failed = 0
    accepted: list[tuple[str, str]] = []
    for label, body in _submissions(files, typed, signature):
        try:
            answer = requests.post(f"{url.rstrip('/')}/intents", json=body, timeout=30)
        except requests.RequestException as err:
            raise KeeperError(
                f"--url {url}: no keeper answers there ({type(err).__name__}); is 'keeper run' "
                "(or 'keeper dev up') running?"
            ) from None
        try:
            data = answer.json()
        except ValueError:  # not a keeper's own answer (a proxy's 502 page, a cut body)
            if answer.status_code < 500:
                raise KeeperError(f"--url {url}: answered, but not as a keeper's intake") from None
            data = {"error": {"code": "unavailable", "problem": f"HTTP {answer.status_code}"}}
        if "error" in data:
            failed += 1
            error = data["error"]
            if answer.status_code == 503 or error.get("code") == "unavailable":
                # Not a verdict on the intent: nothing was decided, the same file may be sent again.
                wait_s = answer.headers.get("Retry-After", "a few")
                click.echo(
                    f"{label}: keeper temporarily unavailable, retry in {wait_s} s "
                    f"({error.get('problem', '')})",
                    err=True,
                )
                continue
            click.echo(f"{label}: rejected: {error['field']}: {error['problem']}", err=True)
        else:
            click.echo(f"{label}: {data['state']} {data['id']}")
            accepted.append((label, data["id"]))
    if wait is not None:
        for label, intent_id in accepted:
            record = wait_terminal(url, intent_id, wait)
            reason = f" ({record['reason']})" if record.get("reason") else ""
            click.echo(f"{label}: {record['state']}{reason}")
            failed += record["state"] != "settled"
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

    web3 = connect(rpc_url)
    chain_id = int(web3.eth.chain_id)
    account = load_signer(alias)
    target = executor_address(executor, load_record(deployments, chain_id))
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
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([
        "accepted", "batched", "simulated", "submitted", "settled", "failed", "expired",
        "cancelled",
    ]),
)  # fmt: skip
@click.option("--owner")
def list_intents(url: str, states: tuple[str, ...], owner: str | None) -> None:
    """Intents the keeper holds: id, owner, nonce, state, reason."""
    params: list[tuple[str, str]] = [("state", s) for s in states]
    if owner:
        params.append(("owner", parse_address("--owner", owner)))
    for record in intake_get(url, "/intents", params).get("intents", []):
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
