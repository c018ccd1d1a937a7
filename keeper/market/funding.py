"""Give accounts token portfolios on an anvil (the seeded market or a real mainnet fork).

Balances are written straight into each token's balance mapping with ``anvil_setStorageAt``:
the mapping's slot is found by probing (Solidity and Vyper layouts), so the same code funds
test tokens, WETH9 and real mainnet tokens (USDC, USDT, WBTC, DAI) without minting rights or
whales. The token's total supply is not adjusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils import keccak, to_bytes

from keeper.market.deployments import Market
from keeper.market.exceptions import FundingError

_BALANCE_OF = "0x70a08231"
_PROBE = 0x1A2B3C4D5E6F
_MAX_SLOT = 32
#: token address (lowercase) -> (slot, vyper layout); the layout of a contract never changes.
_slots: dict[str, tuple[int, bool]] = {}


def _rpc(w3: Any, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(method, params)
    if "error" in response:
        raise FundingError(str(params[0]), f"{method}: {response['error']}")
    return response.get("result")


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def _balance_key(holder: str, slot: int, vyper: bool) -> str:
    account = to_bytes(hexstr=holder).rjust(32, b"\0")
    position = slot.to_bytes(32, "big")
    return "0x" + keccak(position + account if vyper else account + position).hex()


def balance_of(w3: Any, token: str, holder: str) -> int:
    """``token.balanceOf(holder)`` by a raw ``eth_call``."""
    data = _BALANCE_OF + to_bytes(hexstr=holder).rjust(32, b"\0").hex()
    result = _rpc(w3, "eth_call", [{"to": token, "data": data}, "latest"])
    return int(result, 16) if result not in (None, "0x") else 0


def _find_slot(w3: Any, token: str, holder: str) -> tuple[int, bool]:
    if (known := _slots.get(token.lower())) is not None:
        return known
    for slot in range(_MAX_SLOT):
        for vyper in (False, True):
            key = _balance_key(holder, slot, vyper)
            old = _rpc(w3, "eth_getStorageAt", [token, key, "latest"])
            _rpc(w3, "anvil_setStorageAt", [token, key, _word(_PROBE)])
            hit = balance_of(w3, token, holder) == _PROBE
            _rpc(w3, "anvil_setStorageAt", [token, key, _word(int(old, 16))])
            if hit:
                _slots[token.lower()] = (slot, vyper)
                return slot, vyper
    raise FundingError(token, f"no balance mapping found in slots 0..{_MAX_SLOT - 1}")


def set_token_balance(w3: Any, token: str, holder: str, amount: int) -> None:
    """Make ``token.balanceOf(holder)`` equal ``amount`` base units."""
    slot, vyper = _find_slot(w3, token, holder)
    _rpc(w3, "anvil_setStorageAt", [token, _balance_key(holder, slot, vyper), _word(amount)])
    if (actual := balance_of(w3, token, holder)) != amount:
        raise FundingError(token, f"balance is {actual} after writing {amount}")


def fund_portfolio(
    w3: Any,
    market: Market,
    holder: str,
    portfolio: Mapping[str, float],
    eth: float | None = None,
) -> dict[str, int]:
    """Give ``holder`` ``portfolio`` (symbol -> whole tokens) and, if given, ``eth`` ether.

    Returns the balances set, in base units, by symbol.
    """
    if eth is not None:
        _rpc(w3, "anvil_setBalance", [holder, hex(round(eth * 10**18))])
    balances = {}
    for symbol, amount in portfolio.items():
        token = market.token(symbol)
        units = token.units(amount)
        set_token_balance(w3, token.address, holder, units)
        balances[token.symbol] = units
    return balances
