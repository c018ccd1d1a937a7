"""Helpers for the executor suite: build, sign and encode orders the way the keeper does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keeper.intents.signing import sign_intent
from keeper.intents.types import (
    DirectLeg,
    Execution,
    Interaction,
    Order,
    RebalanceIntent,
    TokenAmount,
)
from keeper.settlement.abi import encode_orders

MAX_UINT160 = 2**160 - 1
MAX_UINT256 = 2**256 - 1
FAR_FUTURE = 2**40  # fits uint48 (vault expiration) and is centuries away


@dataclass
class Intents:
    """Builds, signs and encodes orders the way the keeper does."""

    executor: Any
    vault: Any
    chain: Any
    chain_id: int

    def now(self) -> int:
        """The chain's time, as both a view call and the next transaction will see it.

        anvil runs ``eth_call`` at the latest block's timestamp while new blocks take the wall
        clock, so after an idle second the two disagree; mining a block first makes them equal
        (up to the seconds a test takes), whichever way the intent is checked.
        """
        self.chain.mine()
        return int(self.chain.blocks.head.timestamp)

    def fund(self, user, token, amount: int, allowance: int = MAX_UINT160, expiration=None):
        """Mint ``amount`` to ``user``, approve the vault on the token, set the vault allowance."""
        token.mint(user, amount, sender=user)
        if token.allowance(user, self.vault) == 0:
            token.approve(self.vault, MAX_UINT256, sender=user)
        self.vault.approve(token, allowance, expiration or FAR_FUTURE, sender=user)

    def intent(
        self,
        owner,
        sells=(),
        buys=(),
        nonce: int = 0,
        deadline: int | None = None,
        **fields: Any,
    ) -> RebalanceIntent:
        return RebalanceIntent(
            owner=owner.address,
            executor=fields.pop("executor", self.executor.address),
            nonce=nonce,
            deadline=deadline if deadline is not None else self.now() + 3600,
            sells=[TokenAmount(token=_addr(t), amount=a) for t, a in sells],
            buys=[TokenAmount(token=_addr(t), amount=a) for t, a in buys],
            **fields,
        )

    def sign(self, intent: RebalanceIntent, account, chain_id: int | None = None) -> bytes:
        return sign_intent(intent, account, chain_id or self.chain_id)

    def order(
        self,
        intent: RebalanceIntent,
        signer=None,
        sell_amounts=None,
        buy_amounts=None,
        fee: int = 0,
        signature: bytes | None = None,
        sell_to=(),
    ) -> Order:
        """An order that executes the intent at its limits unless amounts are given.

        ``sell_to`` holds one entry per sell leg: ``(order, leg)`` sends that sell leg straight
        to buy leg ``leg`` of the batch's order ``order``, ``None`` to the executor; empty sends
        every sell leg to the executor."""
        if signature is None:
            signature = self.sign(intent, signer)
        return Order(
            intent=intent,
            signature=signature,
            execution=Execution(
                sell_amounts=sell_amounts or [leg.amount for leg in intent.sells],
                buy_amounts=buy_amounts or [leg.amount for leg in intent.buys],
                fee=fee,
                sell_to=[
                    None if to is None else DirectLeg(order=to[0], leg=to[1]) for to in sell_to
                ],
            ),
        )

    def settle(self, orders, interactions=(), sender=None, **kwargs):
        """``settle`` with the orders packed as the keeper packs them."""
        return self.settle_raw(encode_orders(orders), interactions, sender=sender, **kwargs)

    def settle_raw(self, packed: bytes, interactions=(), sender=None, **kwargs):
        """``settle`` with hand-made packed orders (e.g. cut or padded)."""
        return self.executor.settle(
            packed, [i.as_abi() for i in interactions], sender=sender, **kwargs
        )


def _addr(value: Any) -> str:
    return value if isinstance(value, str) else str(value.address)


def call(target, method: str, *args) -> Interaction:
    """An Interaction calling ``target.method(*args)``."""
    data = getattr(target, method).encode_input(*args)
    return Interaction(target=target.address, value=0, call_data=bytes(data))


#: The test tokens' open mint: an interaction minting to the executor stands in for a swap.
MINT = "mint(address,uint256)"
#: What the keeper's deployment allow-lists on every token it routes.
ROUTED_TOKEN = ("approve(address,uint256)", "transfer(address,uint256)")
SWAP_EXACT_TOKENS = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"


def selector(signature: str) -> bytes:
    from eth_utils import keccak

    return keccak(text=signature)[:4]


def allow(executor, owner, target, *signatures: str) -> None:
    """Allow-list interactions calling ``target`` with the functions named by their text
    ``signatures`` (e.g. ``"transfer(address,uint256)"``)."""
    for signature in signatures:
        executor.setCall(_addr(target), selector(signature), True, sender=owner)


def raw_call(target, signature: str, types: list[str], args: list, value: int = 0) -> Interaction:
    """An Interaction with hand-encoded calldata (for functions the target's ABI lacks)."""
    from eth_abi import encode
    from eth_utils import keccak

    data = keccak(text=signature)[:4] + encode(types, args)
    return Interaction(target=_addr(target), value=value, call_data=data)
