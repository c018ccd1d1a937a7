"""Swap calldata for each leg of a route, as plain ``(target, value, callData)`` interactions.

The executor runs them in order as plain CALLs with itself as ``msg.sender`` and recipient,
so every leg's input must already sit in the executor when the leg runs — which
:func:`route_interactions` guarantees by keeping the route's execution order.

* V2 (default, cheapest): ``token_in.transfer(pair, amount_in)`` then
  ``pair.swap(amount0Out, amount1Out, recipient, "")`` with the exact quoted output; or, with
  ``v2_router``, ``approve`` + ``Router02.swapExactTokensForTokens``.
* V3: ``token_in.approve(swap_router, amount_in)`` then ``SwapRouter.exactInputSingle`` with
  ``amountOutMinimum`` = the exact quoted output (so a moved pool reverts instead of paying less).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from keeper.market.deployments import Market
from keeper.market.executor import AllowedCall
from keeper.routing.exceptions import RoutingError
from keeper.routing.route import Leg, Route

MAX_DEADLINE = (1 << 256) - 1

#: The functions these builders call: the executor's deployment allow-lists exactly these
#: (target, selector) pairs for the market it routes through (keeper.market.executor).
ERC20_TRANSFER = "transfer(address,uint256)"
ERC20_APPROVE = "approve(address,uint256)"
V2_PAIR_SWAP = "swap(uint256,uint256,address,bytes)"
V2_ROUTER_SWAP = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"
V3_EXACT_INPUT_SINGLE = (
    "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))"
)


class Interaction(NamedTuple):
    """One call the executor makes: the ``Interaction`` struct of the executor."""

    target: str
    value: int
    call_data: bytes

    def as_tuple(self) -> tuple[str, int, bytes]:
        return (self.target, self.value, self.call_data)


@cache
def selector(signature: str) -> bytes:
    """The 4-byte selector of a function's text signature."""
    from eth_utils import keccak

    return keccak(text=signature)[:4]


def _call(signature: str, types: Sequence[str], args: Sequence[Any]) -> bytes:
    from eth_abi import encode

    return selector(signature) + encode(list(types), list(args))


def erc20_transfer(token: str, to: str, amount: int) -> Interaction:
    data = _call(ERC20_TRANSFER, ["address", "uint256"], [to, amount])
    return Interaction(token, 0, data)


def erc20_approve(token: str, spender: str, amount: int) -> Interaction:
    data = _call(ERC20_APPROVE, ["address", "uint256"], [spender, amount])
    return Interaction(token, 0, data)


def leg_interactions(
    leg: Leg,
    recipient: str,
    *,
    swap_router: str | None = None,
    v2_router: str | None = None,
    deadline: int = MAX_DEADLINE,
) -> list[Interaction]:
    """The calls that execute ``leg`` and leave its output with ``recipient``."""
    if leg.kind == "v2":
        if v2_router is not None:
            data = _call(
                V2_ROUTER_SWAP,
                ["uint256", "uint256", "address[]", "address", "uint256"],
                [leg.amount_in, leg.amount_out, [leg.token_in, leg.token_out], recipient, deadline],
            )
            return [
                erc20_approve(leg.token_in, v2_router, leg.amount_in),
                Interaction(v2_router, 0, data),
            ]
        out_is_token0 = int(leg.token_out, 16) < int(leg.token_in, 16)
        amounts = (leg.amount_out, 0) if out_is_token0 else (0, leg.amount_out)
        data = _call(
            V2_PAIR_SWAP,
            ["uint256", "uint256", "address", "bytes"],
            [*amounts, recipient, b""],
        )
        return [
            erc20_transfer(leg.token_in, leg.pool, leg.amount_in),
            Interaction(leg.pool, 0, data),
        ]
    if leg.kind == "v3":
        if swap_router is None:
            raise RoutingError("swap_router: needed to build calldata for a V3 leg")
        params = (
            leg.token_in,
            leg.token_out,
            leg.fee,
            recipient,
            deadline,
            leg.amount_in,
            leg.amount_out,
            0,
        )
        data = _call(
            V3_EXACT_INPUT_SINGLE,
            ["(address,address,uint24,address,uint256,uint256,uint256,uint160)"],
            [params],
        )
        return [
            erc20_approve(leg.token_in, swap_router, leg.amount_in),
            Interaction(swap_router, 0, data),
        ]
    raise RoutingError(f"leg kind '{leg.kind}' has no calldata builder")


def route_interactions(
    route: Route,
    recipient: str,
    *,
    swap_router: str | None = None,
    v2_router: str | None = None,
    deadline: int = MAX_DEADLINE,
) -> list[Interaction]:
    """Every leg's calls, in the route's execution order."""
    calls: list[Interaction] = []
    for leg in route.legs:
        calls.extend(
            leg_interactions(
                leg, recipient, swap_router=swap_router, v2_router=v2_router, deadline=deadline
            )
        )
    return calls


def routing_calls(market: Market) -> list[AllowedCall]:
    """The executor's allow-list for a keeper routing through ``market`` with these builders:
    each V2 pool's ``swap``, the V3 SwapRouter's ``exactInputSingle``, Router02's
    ``swapExactTokensForTokens``, and ``approve`` + ``transfer`` on each token (the executor
    lets those name only a pool or a router, and checks every approval is spent)."""
    calls = [AllowedCall(p.address, V2_PAIR_SWAP) for p in market.pools if p.dex == "uniswap-v2"]
    calls.append(AllowedCall(market.contracts["SwapRouter"], V3_EXACT_INPUT_SINGLE))
    calls.append(AllowedCall(market.contracts["UniswapV2Router02"], V2_ROUTER_SWAP))
    for token in market.tokens:
        calls += [
            AllowedCall(token.address, ERC20_APPROVE),
            AllowedCall(token.address, ERC20_TRANSFER),
        ]
    return calls
