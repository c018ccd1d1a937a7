"""What ``keeper intent`` and ``keeper vault`` share: the chain, tokens by symbol, legs in whole
tokens, nonces, and the keeper's intake over HTTP (errors name the option and the URL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from keeper.chain.connect import InputError, connect, parse_address
from keeper.exceptions import KeeperError
from keeper.intents.proposal_file import TokenInfo
from keeper.units import AmountError, parse_units

DEFAULT_INTAKE = "http://127.0.0.1:8547"
#: the shortest --ttl accepted: two 12 s blocks (intake refuses a deadline closer than 24 s)
MIN_TTL_S = 24
_ERC20_INFO = [
    {
        "name": name,
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": kind}],
    }
    for name, kind in (("decimals", "uint8"), ("symbol", "string"))
]

__all__ = ["DEFAULT_INTAKE", "InputError", "connect", "parse_address"]


class LegError(AmountError):
    """A ``--sell``/``--buy`` leg is malformed (same message shape as :class:`AmountError`)."""


def load_record(deployments: Path | None, chain_id: int) -> Any:
    """The chain's deployments record (``--deployments``, else ``deployments/<id>.json`` if it
    exists, else None)."""
    from keeper.market.deployments import deployments_path, load_deployments

    path = deployments
    if path is None:
        default = deployments_path(chain_id)
        if not default.exists():
            return None
        path = default
    return load_deployments(path, chain_id)


def executor_address(executor: str | None, record: Any) -> str:
    if executor:
        return parse_address("--executor", executor)
    if record is not None and record.executor is not None:
        return str(record.executor.address)
    raise KeeperError("--executor: not given and no executor in the deployments file")


class TokenBook:
    """Symbols and decimals of tokens: from the proposal file, the market, else the chain."""

    def __init__(self, web3: Any, record: Any, known: tuple[TokenInfo, ...] = ()) -> None:
        self.web3 = web3
        self.market = record.market if record is not None else None
        self.cache: dict[str, TokenInfo] = {t.address.lower(): t for t in known}

    def by_symbol(self, option: str, text: str) -> TokenInfo:
        from eth_utils import is_address

        if is_address(text):
            return self.by_address(text)
        if self.market is None:
            raise InputError(option, text, "unknown symbol (give --deployments, or an address)")
        try:
            token = self.market.token(text)
        except KeeperError as err:
            raise InputError(option, text, str(err)) from None
        return self.by_address(token.address)

    def by_address(self, address: str) -> TokenInfo:
        key = address.lower()
        if key not in self.cache:
            self.cache[key] = self._read(address)
        return self.cache[key]

    def _read(self, address: str) -> TokenInfo:
        if self.market is not None:
            for token in self.market.tokens:
                if token.address.lower() == address.lower():
                    return TokenInfo(
                        address=token.address, symbol=token.symbol, decimals=token.decimals
                    )
        if self.web3 is None:
            return TokenInfo(address=address, symbol=address[:10], decimals=0)
        from eth_utils import to_checksum_address
        from web3.exceptions import Web3Exception

        contract = self.web3.eth.contract(address=to_checksum_address(address), abi=_ERC20_INFO)
        try:
            decimals = int(contract.functions.decimals().call())
        except (Web3Exception, ValueError):  # no code, or no decimals(): not an ERC-20
            raise InputError("token", address, "not an ERC-20 token on this chain") from None
        try:
            symbol = str(contract.functions.symbol().call())
        except (Web3Exception, ValueError):  # symbol() is optional in ERC-20
            symbol = address[:10]
        return TokenInfo(address=address, symbol=symbol, decimals=decimals)


def parse_leg(option: str, text: str, book: TokenBook) -> tuple[str, int]:
    """``TOKEN:AMOUNT`` (symbol or address, whole tokens) -> (address, base units)."""
    from decimal import Decimal, InvalidOperation

    token, sep, amount = text.partition(":")
    try:
        Decimal(amount.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise LegError(option, text, "expected TOKEN:AMOUNT, e.g. WETH:1.5") from None
    if not sep or not token:
        raise LegError(option, text, "expected TOKEN:AMOUNT, e.g. WETH:1.5")
    info = book.by_symbol(option, token)
    try:
        return info.address, parse_units(option, amount, info.decimals, info.symbol)
    except AmountError as err:
        raise LegError(option, text, err.problem) from None


def check_ttl(ttl: int) -> None:
    if ttl <= 0:
        raise InputError("--ttl", str(ttl), "expected a positive number of seconds")
    if ttl < MIN_TTL_S:
        raise InputError(
            "--ttl",
            str(ttl),
            f"at least {MIN_TTL_S} s: two 12 s blocks, or no keeper can settle it in time",
        )


def check_sides(sells: list[str], buys: list[str], book: TokenBook) -> None:
    both = {a.lower() for a in sells} & {a.lower() for a in buys}
    if both:
        symbol = book.by_address(sorted(both)[0]).symbol
        raise InputError("--buy", symbol, "this token is also sold; a leg needs two tokens")


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


def choose_nonces(web3: Any, executor: str, owner: str, taken: set[int], count: int) -> list[int]:
    """``count`` free nonces, lowest first (consecutive where the bitmap allows)."""
    picked: list[int] = []
    for _ in range(count):
        picked.append(choose_nonce(web3, executor, owner, taken | set(picked)))
    return picked


def intake_get(url: str, path: str, params: Any = None, option: str = "--url") -> Any:
    """GET ``url + path`` from a keeper's intake; one-line errors when it is down or refuses."""
    import requests

    try:
        answer = requests.get(f"{url.rstrip('/')}{path}", params=params, timeout=10)
        data = answer.json()
    except requests.RequestException as err:
        raise InputError(
            option,
            url,
            f"no keeper answers there ({type(err).__name__}); is "
            "'keeper run' (or 'keeper dev up') running?",
        ) from None
    except ValueError:
        raise InputError(option, url, "answered, but not as a keeper's intake (not JSON)") from None
    if isinstance(data, dict) and "error" in data:
        error = data["error"]
        raise KeeperError(f"keeper at {url}: {error.get('field')}: {error.get('problem')}")
    return data


def pending_nonces(keeper_url: str, owner: str) -> set[int]:
    """Nonces of ``owner``'s intents that the keeper at ``keeper_url`` has not finished."""
    from keeper.intents.states import IntentState

    records = intake_get(keeper_url, "/intents", {"owner": owner}, "--keeper-url")["intents"]
    return {int(r["nonce"]) for r in records if not IntentState(r["state"]).terminal}


def wait_terminal(url: str, intent_id: str, timeout: float) -> dict[str, Any]:
    """Poll the intake until intent ``intent_id`` is in a terminal state (or ``timeout``)."""
    from keeper.intents.states import IntentState

    end = time.monotonic() + timeout
    while True:
        record: dict[str, Any] = intake_get(url, f"/intents/{intent_id}")
        if IntentState(record["state"]).terminal or time.monotonic() > end:
            return record
        time.sleep(0.5)
